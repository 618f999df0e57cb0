"""Rewriting the append-only file: the history of writes is replaced by the present. One
scheduler for every feature: requests of a window share one rewrite at its end, a running
rewrite is retried shortly, a server without an AOF is left alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from bot.delivery.schedule import Scheduler, by_kind
from bot.storage.connection import connect
from bot.storage.history import RETRY, WINDOW, AofRewrites, rewrite_aof
from bot.storage.keys import Keys
from tests.conftest import Clock, free_port, start_valkey


@pytest.fixture
async def with_aof(tmp_path: Path) -> AsyncIterator[Redis]:
    """A private Valkey keeping an AOF."""
    port = free_port()
    server = start_valkey(tmp_path, port, "--appendonly", "yes")
    client: Redis = connect(f"redis://127.0.0.1:{port}/0")
    yield client
    await client.aclose()
    server.terminate()
    server.wait(10)


async def on_each(redis: Redis, *command: str) -> list[Any]:
    """A command on the one server, or on each primary of a cluster."""
    if isinstance(redis, RedisCluster):
        return [await redis.execute_command(*command, target_nodes=node)  # type: ignore[no-untyped-call]
                for node in redis.get_primaries()]
    return [await redis.execute_command(*command)]  # type: ignore[no-untyped-call]


async def rewrites_done(redis: Redis) -> list[int]:
    """How many AOF rewrites each server has begun."""
    return [int(i["aof_rewrites"]) for i in await on_each(redis, "INFO", "persistence")]


async def settled(redis: Redis) -> None:
    """Wait until no server is rewriting its AOF."""
    for _ in range(200):
        infos = await on_each(redis, "INFO", "persistence")
        if not any(int(i["aof_rewrite_in_progress"]) or int(i["aof_rewrite_scheduled"])
                   for i in infos):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("an AOF rewrite did not finish")


async def test_a_rewrite_is_started_or_reported_as_running(with_aof: Redis) -> None:
    await with_aof.set("dv:history-probe", "1")
    [before] = await rewrites_done(with_aof)
    started = await rewrite_aof(with_aof)
    again = await rewrite_aof(with_aof)  # at once: the first is (or was just) running
    assert started is True and again in (True, False)
    assert (await rewrites_done(with_aof))[0] > before
    for _ in range(100):  # it finishes, and the next one starts again
        if await rewrite_aof(with_aof):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("BGREWRITEAOF kept reporting a rewrite in progress")


async def test_a_server_without_an_aof_is_left_alone(redis: Redis) -> None:
    assert [int(i["aof_enabled"]) for i in await on_each(redis, "INFO", "persistence")] \
        == [0] * len(await on_each(redis, "PING"))
    before = await rewrites_done(redis)
    assert await rewrite_aof(redis) is True  # nothing to do, nothing to retry
    assert await rewrites_done(redis) == before


async def test_each_server_keeping_an_aof_rewrites_it(redis: Redis) -> None:
    await on_each(redis, "CONFIG", "SET", "appendonly", "yes")  # each primary of a cluster
    try:
        await settled(redis)
        before = await rewrites_done(redis)
        assert await rewrite_aof(redis) is True
        assert await rewrites_done(redis) == [n + 1 for n in before]
        await settled(redis)
    finally:
        await on_each(redis, "CONFIG", "SET", "appendonly", "no")


async def test_requests_of_a_window_share_one_rewrite_at_its_end(with_aof: Redis,
                                                                  clock: Clock) -> None:
    keys = Keys("dv")
    rewrites = AofRewrites(with_aof, keys)
    scheduler = Scheduler(with_aof, keys, by_kind(rewrites.jobs(clock)), clock)
    await rewrites.soon()
    await rewrites.soon()  # a second request before the tick: the same one
    assert await with_aof.zrange(keys.jobs_due(), 0, -1, withscores=True) == [("aof-0", 0.0)]
    assert await scheduler.tick() == ["aof-0"]  # picks the window on the scheduler's clock
    end = (int(clock().timestamp()) // WINDOW + 1) * WINDOW
    assert await with_aof.zrange(keys.jobs_due(), 0, -1) == [f"aof-{end}"]
    await rewrites.soon()  # more activity in the same window: still one rewrite
    await scheduler.tick()
    assert await with_aof.zrange(keys.jobs_due(), 0, -1) == [f"aof-{end}"]
    before = await rewrites_done(with_aof)
    clock.advance(seconds=end - clock().timestamp())
    assert await scheduler.tick() == [f"aof-{end}"]
    assert await rewrites_done(with_aof) == [n + 1 for n in before]
    assert await with_aof.zcard(keys.jobs_due()) == 0


async def test_a_rewrite_already_running_is_asked_again_shortly(with_aof: Redis,
                                                               clock: Clock) -> None:
    keys = Keys("dv")
    await with_aof.mset({f"dv:probe:{n}": n for n in range(20)})
    # Slow the rewrite down (10 ms a key) so that it is surely still running when fired.
    await with_aof.config_set("rdb-key-save-delay", 10_000)
    rewrites = AofRewrites(with_aof, keys)
    assert await rewrite_aof(with_aof) is True
    scheduler = Scheduler(with_aof, keys, by_kind(rewrites.jobs(clock)), clock)
    await rewrites.at(clock())
    assert await scheduler.tick() == [f"aof-{int(clock().timestamp())}"]
    retry = int((clock() + RETRY).timestamp())
    assert await with_aof.zrange(keys.jobs_due(), 0, -1) == [f"aof-{retry}"]
    await with_aof.config_set("rdb-key-save-delay", 0)
    for _ in range(200):
        if not int((await with_aof.info("persistence"))["aof_rewrite_in_progress"]):
            break
        await asyncio.sleep(0.05)
    clock.advance(seconds=RETRY.total_seconds())
    assert await scheduler.tick() == [f"aof-{retry}"]
    assert await with_aof.zcard(keys.jobs_due()) == 0
