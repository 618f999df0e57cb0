"""Helpers for delivery tests: a recording Sender double and a way to run workers to the end.

The Sender double stands in for a platform (no HTTP); the queue and the limiter always run on
the real Valkey of tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from bot.delivery.outbox import Outbox
from bot.delivery.queue import DeliveryQueue
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.runner import running
from bot.delivery.sender import SendResult
from bot.delivery.worker import Worker
from bot.deps import Deps
from bot.engine.messages import Reply
from bot.storage.keys import Keys

KEYS = Keys("dv")


class RecordingSender:
    """Delivers instantly and records (address, text, time); `script[address]` lists results
    to return, one per attempt, before the address finally succeeds."""

    channel = "telegram"

    def __init__(self, script: dict[str, list[SendResult]] | None = None,
                 delay: float = 0.0) -> None:
        self.script = script or {}
        self.delay = delay
        self.sent: list[tuple[str, str, float]] = []
        self.attempts: dict[str, int] = {}
        self.gate: dict[str, asyncio.Event] = {}  # address -> wait for this before sending
        self.paid: list[bool] = []  # the lane of every attempt
        self.refused: list[tuple[str, float]] = []  # (address, time) of every scripted refusal

    async def deliver(self, address: str, reply: Reply, *, paid: bool = False) -> SendResult:
        self.attempts[address] = self.attempts.get(address, 0) + 1
        self.paid.append(paid)
        if address in self.gate:
            await self.gate[address].wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        queue = self.script.get(address)
        if queue:
            self.refused.append((address, time.monotonic()))
            return queue.pop(0)
        text = reply.text or (reply.photo.caption if reply.photo else "")
        self.sent.append((address, text, time.monotonic()))
        return SendResult.sent()

    def count(self, address: str) -> int:
        """How many messages reached `address`."""
        return sum(1 for a, _t, _at in self.sent if a == address)


def make_worker(redis: Redis, sender: RecordingSender, *, consumer: str = "w1",
                limiter: RateLimiter | None = None, lease: float = 30.0,
                concurrency: int = 2, **options: object) -> Worker:
    """A worker on the test database with short polling."""
    queue = DeliveryQueue(redis, KEYS, sender.channel, consumer, lease=lease, poll=0.05)
    return Worker(queue, sender, limiter, concurrency=concurrency, poll=0.05,
                  **options)  # type: ignore[arg-type]


async def wait_done(outbox: Outbox, job_id: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait until the job is finished (or fail with its counters)."""
    deadline = time.monotonic() + timeout
    while (stats := await outbox.stats(job_id)).state not in ("done", "cancelled"):
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} not done: {stats}")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def workers(*items: Worker) -> AsyncIterator[None]:
    """Run workers for the duration of the block (stopped and awaited on exit)."""
    async with running(*(w.run for w in items), grace=5.0):
        yield


def until(predicate: Callable[[], bool], timeout: float = 5.0) -> asyncio.Future[None]:
    """A future resolved once `predicate()` holds (polled every 10 ms)."""

    async def poll() -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached")
            await asyncio.sleep(0.01)

    return asyncio.ensure_future(poll())


async def deliver_job(deps: Deps, job_id: str) -> RecordingSender:
    """Send a whole job (sealed ones too) through a worker with the deployment's sealer; the
    addresses the sender saw, in `sent`."""
    sender = RecordingSender()
    queue = DeliveryQueue(deps.redis, deps.keys, sender.channel, "t", poll=0.05,
                          sealer=deps.sealer)
    async with workers(Worker(queue, sender, None, poll=0.05)):
        await wait_done(deps.outbox, job_id)
    return sender
