"""Scheduled jobs fire once cluster-wide, after restarts, and again if the firer died."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from redis.asyncio import Redis

from bot.delivery.outbox import Outbox
from bot.delivery.schedule import Scheduler, by_kind
from bot.storage.connection import connect
from tests.conftest import Clock
from tests.delivery.conftest import KEYS


class Firings:
    """Records fired job ids; optionally fails the first firing of some."""

    def __init__(self, fail_once: set[str] | None = None) -> None:
        self.fired: list[str] = []
        self.fail_once = fail_once or set()

    async def __call__(self, job_id: str) -> None:
        if job_id in self.fail_once:
            self.fail_once.discard(job_id)
            raise RuntimeError("the process died while firing")
        self.fired.append(job_id)


async def test_two_schedulers_fire_a_due_job_once(redis: Redis, valkey_url: str,
                                                  clock: Clock) -> None:
    outbox = Outbox(redis, KEYS)
    await outbox.schedule("bc-1", clock() + timedelta(minutes=5))
    await outbox.schedule("bc-2", clock() + timedelta(minutes=50))
    other = connect(valkey_url)
    firings = Firings()
    try:
        schedulers = [Scheduler(redis, KEYS, firings, clock),
                      Scheduler(other, KEYS, firings, clock)]
        assert await schedulers[0].tick() == []
        clock.advance(minutes=5)
        results = await asyncio.gather(*(s.tick() for s in schedulers * 5))
    finally:
        await other.aclose()
    assert firings.fired == ["bc-1"]
    assert sorted(j for r in results for j in r) == ["bc-1"]
    assert await redis.zrange(KEYS.jobs_due(), 0, -1) == ["bc-2"]
    assert await redis.zcard(KEYS.jobs_firing()) == 0


async def test_a_job_due_while_the_bot_was_down_fires_at_start(redis: Redis,
                                                               clock: Clock) -> None:
    await Outbox(redis, KEYS).schedule("bc-3", clock() - timedelta(hours=2))
    firings = Firings()
    assert await Scheduler(redis, KEYS, firings, clock).tick() == ["bc-3"]  # a fresh process


async def test_firing_that_died_is_retried_after_the_lease(redis: Redis, clock: Clock) -> None:
    await Outbox(redis, KEYS).schedule("bc-4", clock())
    firings = Firings(fail_once={"bc-4"})
    scheduler = Scheduler(redis, KEYS, firings, clock, lease=30)
    assert await scheduler.tick() == []
    assert await scheduler.tick() == []  # still leased to the failed attempt
    clock.advance(seconds=31)
    assert await scheduler.tick() == ["bc-4"]
    assert firings.fired == ["bc-4"]


async def test_run_fires_within_a_tick_and_stops(redis: Redis, clock: Clock) -> None:
    firings = Firings()
    scheduler = Scheduler(redis, KEYS, by_kind({"bc": firings}), clock, tick=0.02)
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    await Outbox(redis, KEYS).schedule("bc-5", clock())
    await Outbox(redis, KEYS).schedule("zz-1", clock())  # no handler: dropped, logged
    for _ in range(100):
        if firings.fired:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert firings.fired == ["bc-5"]
    assert await redis.zcard(KEYS.jobs_due()) == 0 and await redis.zcard(KEYS.jobs_firing()) == 0
