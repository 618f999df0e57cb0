"""Sender workers: claim a delivery, wait for a rate slot, send, record. Crash-safe.

Order per message: check the sent set, reserve a slot in the shared limiter, send, record in
the sent set, acknowledge. Sending and recording run to completion even when the worker is
cancelled, so a stop never loses the record of a message that went out; a crash before the
acknowledgement is covered by the sent set when the entry is claimed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from bot.delivery.models import Delivery, Job, retried
from bot.delivery.queue import DeliveryQueue, OnDone
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import BLOCKED, GAVE_UP, Sender, SendResult, Status

log = logging.getLogger("dvbot.delivery")

T = TypeVar("T")
MAX_ATTEMPTS = 8  # transient failures per delivery before it counts as failed (~4 min)
BACKOFF_CAP = 60.0
# (delivery, channel, final reason) -> True when it was handed to another channel.
Reroute = Callable[[Delivery, str, str], Awaitable[bool]]


def backoff(attempt: int) -> float:
    """Seconds before retry number `attempt + 1` of a delivery: 1, 2, 4 ... capped."""
    return float(min(2 ** attempt, BACKOFF_CAP))


async def pause(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`, waking early when `stop` is set; True if not stopped."""
    if seconds > 0 and not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
    return not stop.is_set()


async def uninterrupted(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` to the end even if our task is cancelled meanwhile, then re-raise the
    cancellation: a message that went out must be recorded, or a restart would resend it."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


class Worker:
    """`concurrency` sender loops for one channel in this process."""

    def __init__(self, queue: DeliveryQueue, sender: Sender, limiter: RateLimiter | None, *,
                 concurrency: int = 4, poll: float = 0.5, on_done: OnDone | None = None,
                 max_attempts: int = MAX_ATTEMPTS,
                 retry_delay: Callable[[int], float] = backoff,
                 reroute: Reroute | None = None) -> None:
        self.queue = queue
        self.sender = sender
        self.limiter = limiter
        self.concurrency = concurrency
        self.poll = poll
        self.on_done = on_done
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.reroute = reroute
        self._finish_at = 0.0
        self._troubled = 0  # consecutive transient failures: slows this process down

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set."""
        async with asyncio.TaskGroup() as group:
            for n in range(self.concurrency):
                group.create_task(self._loop(stop), name=f"send-{self.queue.channel}-{n}")

    async def _loop(self, stop: asyncio.Event) -> None:
        errors = 0
        while not stop.is_set():
            try:
                worked = await self.step(stop)
                errors = 0
            except Exception:
                # A Redis outage or a bug must not end delivery for good: log, back off, go on.
                errors += 1
                log.exception("sender loop failed (%d in a row); retrying", errors)
                await pause(stop, min(0.25 * 2 ** errors, 10.0))
                continue
            if not worked:
                await pause(stop, self.poll)

    async def step(self, stop: asyncio.Event) -> bool:
        """Handle one delivery if there is one; False when there was nothing to do."""
        if self.limiter is not None:
            left = await self.limiter.paused_for()
            if left > 0:
                await pause(stop, left)
                return True
        delivery = await self.queue.next()
        if delivery is None:
            await self._finish_idle()
            return False
        await self._deliver(delivery, stop)
        return True

    async def _deliver(self, d: Delivery, stop: asyncio.Event) -> None:
        job = await self.queue.job(d.job_id)
        done = await self.queue.begin(d) if job is not None else None
        if job is None or done is None:
            await self.queue.ack(d)  # stopped job, or already handled before a crash
            return
        for index in range(done, len(job.messages)):
            if not await self._slot(d, job.paid, stop):
                await self.queue.requeue(d)  # stopping, or paused meanwhile: hand it back
                return
            result = await uninterrupted(self._send(d, job, index))
            if result.status is not Status.SENT:
                await self._failed(d, result, stop)
                return
        if done >= len(job.messages):
            await self.queue.mark_sent(d)
        self._troubled = 0
        await self.queue.ack(d)

    async def _send(self, d: Delivery, job: Job, index: int) -> SendResult:
        result = await self.sender.deliver(self.queue.address(d), job.messages[index].reply(),
                                           paid=job.paid)
        if result.status is Status.SENT:
            if index + 1 < len(job.messages):
                await self.queue.mark_part(d, index + 1)
            else:
                await self.queue.mark_sent(d)
        return result

    async def _slot(self, d: Delivery, paid: bool, stop: asyncio.Event) -> bool:
        """Wait for a slot of the shared limiter; False when stopping or paused meanwhile."""
        if self.limiter is None:
            return not stop.is_set()
        while True:
            slot = await self.limiter.reserve(self.queue.chat_key(d), paid=paid)
            # A long pause (429): hand the delivery back rather than sit on it until the lease
            # runs out and another process takes it over too.
            if not slot.reserved and slot.wait > self.limiter.horizon:
                return False
            if not await pause(stop, slot.wait):
                return False
            if slot.reserved:
                break
        # Another worker may have hit a 429 while we waited for our slot: do not send into it.
        return await self.limiter.paused_for() <= 0

    async def _failed(self, d: Delivery, result: SendResult, stop: asyncio.Event) -> None:
        if result.status is Status.RETRY_AFTER:
            log.warning("%s asked to slow down: pausing every sender for %.1f s",
                        self.queue.channel, result.seconds)
            if self.limiter is not None:
                await self.limiter.pause(max(result.seconds, 1.0))
            await self.queue.requeue(d)
        elif result.status is Status.TRANSIENT:
            self._troubled += 1
            if d.attempt + 1 >= self.max_attempts:
                log.warning("giving up on a delivery of %s after %d attempts: %s", d.job_id,
                            d.attempt + 1, result.reason)
                await self.queue.mark_final(d, GAVE_UP, "failed")
                await self.queue.ack(d)
            else:
                await self.queue.requeue(retried(d), self.retry_delay(d.attempt))
            await pause(stop, min(0.1 * 2 ** self._troubled, 5.0))
        elif self.reroute is not None and await self.reroute(d, self.queue.channel,
                                                             result.reason):
            await self.queue.ack(d)  # the member's other channel has it now
        else:
            counter = "blocked" if result.reason == BLOCKED else "failed"
            await self.queue.mark_final(d, result.reason, counter)
            await self.queue.ack(d)

    async def _finish_idle(self) -> None:
        now = asyncio.get_running_loop().time()
        if now < self._finish_at:
            return
        self._finish_at = now + self.poll
        await self.queue.finish_idle(self._after_job)

    async def _after_job(self, job_id: str) -> None:
        log.info("job %s finished", job_id)
        if self.on_done is not None:
            try:
                await self.on_done(job_id)
            except Exception:
                log.exception("the after-job hook of %s failed", job_id)
