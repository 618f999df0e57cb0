"""The AOF rewrite asked for after activity on anonymous threads: one pending request at a
time, at most one rewrite per window, nothing done on a server without an AOF."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from bot.storage.keys import Keys
from bot.tamtu.compaction import COMPACT_JOB, WINDOW, Compactor


async def test_requests_collapse_and_rewrites_keep_a_window(redis: Redis) -> None:
    keys = Keys("dv")
    compactor = Compactor(redis, keys)
    await compactor.soon()
    await compactor.soon()
    assert await redis.zrange(keys.jobs_due(), 0, -1, withscores=True) == [(COMPACT_JOB, 0.0)]
    await redis.zrem(keys.jobs_due(), COMPACT_JOB)  # as the scheduler's claim does
    await compactor.fire(COMPACT_JOB)
    assert 0 < await redis.ttl(keys.tamtu_rewritten()) <= WINDOW
    assert await redis.zscore(keys.jobs_due(), COMPACT_JOB) is None
    await compactor.fire(COMPACT_JOB)  # within the window: comes back when it has passed
    again = await redis.zscore(keys.jobs_due(), COMPACT_JOB)
    assert again is not None and time.time() < again <= time.time() + WINDOW + 1
    assert await compactor.rewrite() is False  # the test server keeps no AOF
