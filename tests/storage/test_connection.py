"""The client's pool: a burst larger than the pool waits for connections instead of failing."""

from __future__ import annotations

import asyncio

from redis.exceptions import ConnectionError

from bot.storage.connection import connect


async def test_a_burst_larger_than_the_pool_waits_and_loses_nothing(valkey_url: str) -> None:
    redis = connect(valkey_url, max_connections=4)
    try:
        # BLPOP with a timeout holds its connection: 40 of them through 4 connections would
        # raise "Too many connections" on redis-py's default pool.
        key = "t:burst"
        await redis.delete(key)
        results = await asyncio.gather(*(redis.blpop([f"t:empty:{n}"], timeout=0.05)
                                         for n in range(40)),
                                       *(redis.incr(key) for _ in range(200)))
        assert results[:40] == [None] * 40
        assert await redis.get(key) == "200"
    finally:
        await redis.aclose()


async def test_waiting_too_long_for_a_connection_is_a_connection_error(valkey_url: str) -> None:
    redis = connect(valkey_url, max_connections=1, wait=0.2)
    try:
        held = asyncio.ensure_future(redis.blpop(["t:never"], timeout=1))
        await asyncio.sleep(0.05)
        try:
            await redis.ping()
        except ConnectionError:
            pass
        else:
            raise AssertionError("the second caller should have given up after 0.2 s")
        assert await held is None
    finally:
        await redis.aclose()
