"""Shortening the AOF's memory of who did what when.

The AOF is a log in write order: an account's dialog writes (its key names the chat id) sit
right before the writes of the anonymous thread they produced, and an answer right before the
notice queued for its sender. Sealing hides the contents, not the order. Rewriting the AOF
replaces that history by a snapshot of the current data (an RDB preamble, in hash order), so
after activity on an anonymous thread the scheduler asks the server to rewrite it soon
(`ttw`, one pending request at a time). On a server that refuses the command (a managed Redis
may), the weaker guarantee is logged once; the README says what the order can still tell.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from bot.storage.keys import Keys

log = logging.getLogger("dvbot.tamtu")

COMPACT_JOB = "ttw"
WINDOW = 300  # seconds: at most one rewrite per window, however busy the threads are


class Compactor:
    """Asks for an AOF rewrite after activity on anonymous threads."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._warned = False

    async def soon(self) -> None:
        """Ask for a rewrite at the scheduler's next tick (a pending request covers this)."""
        await self._redis.zadd(self._keys.jobs_due(), {COMPACT_JOB: 0}, nx=True)

    async def fire(self, _job_id: str) -> None:
        """Scheduler callback for `ttw`: rewrite, or come back when the window has passed."""
        guard = self._keys.tamtu_rewritten()
        if not await self._redis.set(guard, 1, nx=True, ex=WINDOW):
            left = max(1, int(await self._redis.ttl(guard)))
            await self._redis.zadd(self._keys.jobs_due(), {COMPACT_JOB: time.time() + left},
                                   nx=True)
            return
        await self.rewrite()

    async def rewrite(self) -> bool:
        """Rewrite the AOF now if the server keeps one; True when a rewrite was started."""
        started = False
        try:
            for node in self._servers():
                info = await self._redis.execute_command(  # type: ignore[no-untyped-call]
                    "INFO", "persistence", **node)
                if int(info.get("aof_enabled", 0)):
                    await self._redis.execute_command(  # type: ignore[no-untyped-call]
                        "BGREWRITEAOF", **node)
                    started = True
        except ResponseError as exc:
            if not self._warned:
                log.warning("the store refused to rewrite its AOF (%s): the order of writes "
                            "stays in it until its own next rewrite", exc)
                self._warned = True
            return False
        return started

    def _servers(self) -> list[dict[str, Any]]:
        """Where to ask: the one server, or each primary of a cluster (each has its AOF)."""
        if isinstance(self._redis, RedisCluster):
            return [{"target_nodes": node} for node in self._redis.get_primaries()]
        return [{}]
