"""Sender workers: everyone served exactly once, across 429s, errors, crashes and restarts."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from bot.delivery.models import Recipient
from bot.delivery.outbox import Outbox
from bot.delivery.queue import DeliveryQueue
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import (
    BLOCKED,
    CHAT_NOT_FOUND,
    DEACTIVATED,
    GAVE_UP,
    SendResult,
)
from bot.delivery.worker import Worker
from bot.engine.messages import Reply
from tests.delivery.conftest import KEYS, RecordingSender, make_worker, until, wait_done, workers


def people(n: int, group: str = "g") -> list[Recipient]:
    return [Recipient(str(i), "telegram", str(1000 + i), group) for i in range(n)]


async def test_every_recipient_gets_the_message_once(redis: Redis) -> None:
    outbox, sender = Outbox(redis, KEYS), RecordingSender()
    await outbox.enqueue("bc-1", people(30), [Reply("Thông báo")])
    async with workers(make_worker(redis, sender), make_worker(redis, sender, consumer="w2")):
        await wait_done(outbox, "bc-1")
    assert sorted(a for a, _t, _at in sender.sent) == sorted(str(1000 + i) for i in range(30))
    stats = await outbox.stats("bc-1")
    assert (stats.overall.sent, stats.overall.pending, stats.groups["g"].sent) == (30, 0, 30)
    # Finished jobs leave no stream behind and are no longer active.
    assert await redis.exists(KEYS.job_queue("bc-1", "telegram")) == 0
    assert await redis.zcard(KEYS.jobs_active("telegram")) == 0


async def test_final_errors_are_counted_marked_and_never_retried(redis: Redis) -> None:
    outbox = Outbox(redis, KEYS)
    sender = RecordingSender({"1000": [SendResult.final(BLOCKED)],
                              "1001": [SendResult.final(DEACTIVATED)],
                              "1002": [SendResult.final(CHAT_NOT_FOUND)]})
    await outbox.enqueue("bc-2", people(5), [Reply("x")])
    async with workers(make_worker(redis, sender)):
        await wait_done(outbox, "bc-2")
    assert {a: sender.attempts[a] for a in ("1000", "1001", "1002")} == \
        {"1000": 1, "1001": 1, "1002": 1}
    stats = await outbox.stats("bc-2")
    assert (stats.overall.sent, stats.overall.blocked, stats.overall.failed) == (2, 1, 2)
    assert await redis.hgetall(KEYS.unreachable()) == {
        "0": "telegram:blocked", "1": "telegram:deactivated", "2": "telegram:chat_not_found"}


async def test_transient_errors_retry_with_backoff_then_give_up(redis: Redis) -> None:
    outbox = Outbox(redis, KEYS)
    sender = RecordingSender({"1000": [SendResult.transient("502")] * 2,
                              "1001": [SendResult.transient("timeout")] * 10})
    await outbox.enqueue("bc-3", people(3), [Reply("x")])
    delays: list[int] = []

    def delay(attempt: int) -> float:
        delays.append(attempt)
        return 0.05

    async with workers(make_worker(redis, sender, max_attempts=4, retry_delay=delay)):
        await wait_done(outbox, "bc-3")
    assert sender.count("1000") == 1 and sender.attempts["1000"] == 3
    assert sender.count("1001") == 0 and sender.attempts["1001"] == 4
    assert await redis.hget(KEYS.job_failed("bc-3"), "1") == GAVE_UP
    stats = await outbox.stats("bc-3")
    assert (stats.overall.sent, stats.overall.failed) == (2, 1)
    assert sorted(delays) == [0, 0, 1, 1, 2]


async def test_retry_after_pauses_all_workers_and_retries(redis: Redis) -> None:
    outbox = Outbox(redis, KEYS)
    # The first recipient is refused, so most of the job is still to send when the pause starts.
    sender = RecordingSender({"1000": [SendResult.retry_after(0.6)]})
    limiter = RateLimiter(redis, KEYS, "telegram:1", rate=50)
    await outbox.enqueue("bc-4", people(12), [Reply("x")])
    pool = [make_worker(redis, sender, consumer=f"w{n}", limiter=limiter) for n in range(3)]
    async with workers(*pool):
        await wait_done(outbox, "bc-4")
    assert all(sender.count(str(1000 + i)) == 1 for i in range(12))
    [(_address, refused_at)] = sender.refused
    # Nobody starts a send while the pause is on. Only sends that had already passed the
    # limiter when the 429 came back may still land (at most one per other sender task: 3
    # workers x 2 tasks - 1); under CPU load they can land late, so count them, do not time
    # them. Without the pause the rest of the job (at 50/s) would all go out in this window.
    during = [a for a, _t, at in sender.sent if refused_at < at < refused_at + 0.55]
    assert len(during) <= 5 and "1000" not in during, during
    [retried] = [at for a, _t, at in sender.sent if a == "1000"]
    assert retried >= refused_at + 0.55


async def test_cancelled_between_send_and_ack_is_not_sent_again(redis: Redis) -> None:
    """The worker is cancelled (killed) while the platform call is in flight: the message
    still gets recorded in the sent set, the entry stays unacknowledged, and the worker
    that takes it over after a restart acknowledges it without sending a second time."""
    outbox, sender = Outbox(redis, KEYS), RecordingSender()
    sender.gate["1001"] = asyncio.Event()
    await outbox.enqueue("bc-5", people(3), [Reply("x")])
    first = make_worker(redis, sender, consumer="dead", concurrency=1, lease=0.3)
    stop = asyncio.Event()
    task = asyncio.create_task(first.run(stop))
    await until(lambda: sender.attempts.get("1001") == 1)
    task.cancel()
    await asyncio.sleep(0.05)
    sender.gate["1001"].set()  # the request completes after the cancellation
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sender.count("1001") == 1
    assert await redis.sismember(KEYS.job_sent("bc-5"), "1")
    pending = await redis.xpending(KEYS.job_queue("bc-5", "telegram"), "send")
    assert pending["pending"] == 1  # sent and recorded, but never acknowledged

    async with workers(make_worker(redis, sender, consumer="new", lease=0.3)):
        await wait_done(outbox, "bc-5")
    assert [sender.count(str(1000 + i)) for i in range(3)] == [1, 1, 1]
    assert (await outbox.stats("bc-5")).overall.sent == 3


async def test_claimed_but_never_sent_is_reclaimed_after_the_lease(redis: Redis) -> None:
    outbox, sender = Outbox(redis, KEYS), RecordingSender()
    await outbox.enqueue("bc-6", people(2), [Reply("x")])
    dead = DeliveryQueue(redis, KEYS, "telegram", "dead", lease=0.3)
    claimed = await dead.next()  # the process died right after claiming
    assert claimed is not None
    started = time.monotonic()
    async with workers(make_worker(redis, sender, consumer="alive", lease=0.3)):
        await wait_done(outbox, "bc-6")
    assert sender.count(claimed.address) == 1 and len(sender.sent) == 2
    assert time.monotonic() - started >= 0.25  # only once the dead claim went stale


async def test_multi_part_messages_resume_after_the_last_part_sent(redis: Redis) -> None:
    outbox = Outbox(redis, KEYS)
    sender = RecordingSender()
    await outbox.enqueue("bc-7", people(1), [Reply("phần 1"), Reply("phần 2")])
    original = sender.deliver
    calls = 0

    async def flaky(address: str, reply: Reply, *, paid: bool = False) -> SendResult:
        nonlocal calls
        calls += 1
        if calls == 2:  # the second part fails once
            return SendResult.transient("502")
        return await original(address, reply, paid=paid)

    sender.deliver = flaky  # type: ignore[method-assign]
    async with workers(make_worker(redis, sender, retry_delay=lambda _n: 0.05)):
        await wait_done(outbox, "bc-7")
    assert [t for _a, t, _at in sender.sent] == ["phần 1", "phần 2"]


async def test_cancelled_job_is_not_sent_further(redis: Redis) -> None:
    outbox, sender = Outbox(redis, KEYS), RecordingSender(delay=0.05)
    await outbox.enqueue("bc-8", people(40), [Reply("x")])
    async with workers(make_worker(redis, sender, concurrency=1)):
        await until(lambda: len(sender.sent) >= 3)
        await outbox.cancel("bc-8")
        sent_at_cancel = len(sender.sent)
        await asyncio.sleep(0.3)
    assert len(sender.sent) <= sent_at_cancel + 1  # at most the one in flight
    stats = await outbox.stats("bc-8")
    assert stats.state == "cancelled"
    assert stats.overall.sent + stats.overall.cancelled >= 39


async def test_on_done_runs_once_per_job(redis: Redis) -> None:
    outbox, sender = Outbox(redis, KEYS), RecordingSender()
    finished: list[str] = []

    async def done(job_id: str) -> None:
        finished.append(job_id)

    await outbox.enqueue("bc-9", people(4), [Reply("x")])
    await outbox.enqueue("dir-1", people(2), [Reply("y")])
    pool = [make_worker(redis, sender, consumer=f"w{n}", on_done=done) for n in range(2)]
    async with workers(*pool):
        await wait_done(outbox, "bc-9")
        await wait_done(outbox, "dir-1")
        await until(lambda: len(finished) == 2)
        await asyncio.sleep(0.1)
    assert sorted(finished) == ["bc-9", "dir-1"]


async def test_on_done_runs_while_the_job_is_still_active(redis: Redis) -> None:
    """Whoever waits for "nothing active" (the console before it exits) must not slip into the
    gap between a job ending and its hook enqueueing the author's notice."""
    outbox, sender = Outbox(redis, KEYS), RecordingSender()
    seen: list[float | None] = []

    async def done(job_id: str) -> None:
        seen.append(await redis.zscore(KEYS.jobs_active("telegram"), job_id))

    await outbox.enqueue("bc-10", people(3), [Reply("x")])
    async with workers(make_worker(redis, sender, on_done=done)):
        await wait_done(outbox, "bc-10", timeout=30.0)
        await until(lambda: len(seen) == 1, timeout=30.0)  # generous: CI machines are loaded
        for _ in range(3000):  # forgotten right after the hook
            if await redis.zscore(KEYS.jobs_active("telegram"), "bc-10") is None:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the finished job stayed active after its hook")
    assert seen[0] is not None


async def test_worker_survives_a_store_outage(redis: Redis, valkey_url: str) -> None:
    """A Redis error inside the loop is logged and retried, not fatal."""
    outbox, sender = Outbox(redis, KEYS), RecordingSender()
    worker = make_worker(redis, sender)
    broken = 0
    original = worker.queue.next

    async def next_or_fail() -> object:
        nonlocal broken
        if broken < 2:
            broken += 1
            raise ConnectionError("store down")
        return await original()

    worker.queue.next = next_or_fail  # type: ignore[assignment, method-assign]
    await outbox.enqueue("bc-10", people(2), [Reply("x")])
    async with workers(worker):
        await wait_done(outbox, "bc-10")
    assert len(sender.sent) == 2


def test_backoff_grows_and_is_capped() -> None:
    from bot.delivery.worker import backoff

    assert [backoff(n) for n in (0, 1, 2, 10)] == [1.0, 2.0, 4.0, 60.0]


async def test_worker_without_limiter_stops_promptly(redis: Redis) -> None:
    worker = Worker(DeliveryQueue(redis, KEYS, "telegram", "w"), RecordingSender(), None,
                    poll=10)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 1)


async def test_a_long_pause_hands_claimed_deliveries_back(redis: Redis) -> None:
    """A sender that claimed a delivery just before a long 429 pause does not sit on it past
    its lease (another process would then take it over and both would send)."""
    outbox, sender = Outbox(redis, KEYS), RecordingSender()
    limiter = RateLimiter(redis, KEYS, "telegram:1", rate=50, horizon=0.2)
    await outbox.enqueue("bc-11", people(1), [Reply("x")])
    worker = make_worker(redis, sender, limiter=limiter, lease=0.5)
    claimed = await worker.queue.next()
    assert claimed is not None
    await limiter.pause(2.0)
    await worker._deliver(claimed, asyncio.Event())
    pending = await redis.xpending(KEYS.job_queue("bc-11", "telegram"), "send")
    assert pending["pending"] == 0 and sender.sent == []  # handed back, not held
    assert await redis.xlen(KEYS.job_queue("bc-11", "telegram")) == 1


async def test_paid_jobs_go_through_the_paid_lane(redis: Redis) -> None:
    outbox, sender = Outbox(redis, KEYS), RecordingSender()
    limiter = RateLimiter(redis, KEYS, "telegram:1", rate=1, paid_rate=1000)
    await outbox.enqueue("bc-12", people(20), [Reply("x")], paid=True)
    started = time.monotonic()
    async with workers(make_worker(redis, sender, limiter=limiter, concurrency=4)):
        await wait_done(outbox, "bc-12")
    assert len(sender.sent) == 20 and set(sender.paid) == {True}
    assert time.monotonic() - started < 2  # 20 messages at 1/s would take 19 s
