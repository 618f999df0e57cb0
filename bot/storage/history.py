"""Rewriting the append-only file, so that it holds the present state and not the history.

The AOF logs every write in order. Even when each value that ties a person to an anonymous
answer or thread is sealed, the order tells a story: an account's writes next to a survey's
"answered" mark, or right before the anonymous thread they produced; and what was deleted
stays in the log. A rewrite replaces the log by the current data set, and the order and the
deleted values are gone. This is the one scheduler of those rewrites, for every feature:
after sensitive writes or deletions a feature asks for one `soon()` (at the end of the current
WINDOW, so a busy window costs one rewrite) or `at()` a moment (now, when a survey closes).
The delivery scheduler fires the jobs (`aof-<epoch>`; `aof-0` picks the window by its clock).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError, ResponseError

from bot.storage.keys import Keys

log = logging.getLogger("dvbot.storage")

JOB = "aof"  # the scheduler's job kind
WINDOW = 300  # seconds: requests within one window share one rewrite at its end
RETRY = timedelta(seconds=5)  # when another rewrite was still running


class AofRewrites:
    """Asks for AOF rewrites through the delivery scheduler's due set, and does them."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def soon(self) -> None:
        """A rewrite at the end of the current window (the firing scheduler's clock picks
        it: callers need no clock); asking again before the next tick changes nothing."""
        await self._redis.zadd(self._keys.jobs_due(), {f"{JOB}-0": 0}, nx=True)

    async def at(self, when: datetime) -> None:
        """A rewrite at `when` (one job per second: asking twice is harmless)."""
        stamp = int(when.timestamp())
        await self._redis.zadd(self._keys.jobs_due(), {f"{JOB}-{stamp}": stamp})

    def jobs(self, clock: Callable[[], datetime]) -> dict[str, Callable[[str], Awaitable[None]]]:
        """The job kind for `bot.delivery.schedule.by_kind`, on the scheduler's clock."""

        async def fire(job_id: str) -> None:
            """`aof-0`: schedule the window's rewrite; `aof-<epoch>`: rewrite now, or retry
            shortly when a rewrite is already running (it began before our latest writes)."""
            now = clock()
            if job_id == f"{JOB}-0":
                end = (int(now.timestamp()) // WINDOW + 1) * WINDOW
                await self.at(datetime.fromtimestamp(end, UTC))
            elif not await rewrite_aof(self._redis):
                await self.at(now + RETRY)

        return {JOB: fire}


async def rewrite_aof(redis: Redis) -> bool:
    """Ask each server that keeps an AOF (each primary of a cluster keeps its own) to rewrite
    it now. False when a rewrite is already running (ask again a little later); True
    otherwise, including when the server keeps no AOF (nothing on disk to clean) or refuses
    the command (a managed Redis may: logged, nothing else to do)."""
    try:
        for node in _servers(redis):
            info = await redis.execute_command(  # type: ignore[no-untyped-call]
                "INFO", "persistence", **node)
            if int(info.get("aof_enabled", 0)):
                await redis.execute_command("BGREWRITEAOF", **node)  # type: ignore[no-untyped-call]
    except ResponseError as exc:
        if "in progress" in str(exc):
            return False
        log.warning("the store refused BGREWRITEAOF (%s): its append-only file keeps the "
                    "order of writes until the server rewrites it itself", exc)
    except (RedisError, RedisClusterException) as exc:
        log.warning("could not ask the store to rewrite its append-only file: %s", exc)
    return True


def _servers(redis: Redis) -> list[dict[str, Any]]:
    """Where to ask: the one server, or each primary of a cluster."""
    if isinstance(redis, RedisCluster):
        return [{"target_nodes": node} for node in redis.get_primaries()]
    return [{}]
