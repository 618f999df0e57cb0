"""Rewriting the append-only file: the history of writes is replaced by the present."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.storage.history import rewrite_aof


async def test_a_rewrite_is_started_or_reported_as_running(redis: Redis) -> None:
    await redis.set("dv:history-probe", "1")
    started = await rewrite_aof(redis)
    again = await rewrite_aof(redis)  # at once: the first is (or was just) running
    assert started is True and again in (True, False)
    for _ in range(100):  # it finishes, and the next one starts again
        if await rewrite_aof(redis):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("BGREWRITEAOF kept reporting a rewrite in progress")
