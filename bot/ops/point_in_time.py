"""Where a backup reads from: a snapshot (no pause), else a pause of at most 2 seconds.

The fallback is for servers that refuse SYNC (some managed services): CLIENT PAUSE WRITE with
a 2-second timeout. The server lifts the pause by itself when it runs out, so a killed backup
can never freeze the store for longer, and the bot's writes wait rather than fail meanwhile.
A store too big to read in 2 seconds is then copied partly live: the backup says so
(`consistent: false`) and the command prints a warning.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError, ResponseError

from bot.ops.snapshot import SnapshotUnavailable, snapshot

log = logging.getLogger("dvbot.backup")

PAUSE_MS = 2_000  # the longest writes may wait because of a backup


@dataclass
class Source:
    """The clients to read and whether what they show is one instant."""

    clients: list[Redis]
    how: str  # "snapshot", "pause" or "live"
    started: float = field(default_factory=time.monotonic)
    pause_ms: int = 0

    @property
    def consistent(self) -> bool:
        """True when every key read belongs to the same instant."""
        if self.how == "pause":
            return (time.monotonic() - self.started) * 1000 < self.pause_ms
        return self.how == "snapshot"


@contextlib.asynccontextmanager
async def point_in_time(redis: Redis, scratch: Path, *, live: bool = False
                        ) -> AsyncIterator[Source]:
    """A source for the backup: a snapshot, else a short pause (or live, if asked)."""
    if live:
        yield Source([redis], "live")
        return
    async with contextlib.AsyncExitStack() as stack:
        try:
            clients = await stack.enter_async_context(snapshot(redis, scratch))
        except (SnapshotUnavailable, RedisError, OSError) as exc:
            log.warning("no snapshot (%s); holding writes for at most %d ms instead",
                        exc, PAUSE_MS)
        else:
            yield Source(clients, "snapshot")
            return
        paused = await stack.enter_async_context(_paused(redis))
        yield Source([redis], "pause" if paused else "live", pause_ms=PAUSE_MS)


@contextlib.asynccontextmanager
async def _paused(redis: Redis) -> AsyncIterator[bool]:
    """Hold other clients' writes for at most PAUSE_MS; True if the server agreed."""
    # A cluster client sends CLIENT PAUSE to its default node only: name every node.
    nodes: dict[str, Any] = ({"target_nodes": RedisCluster.ALL_NODES}
                             if isinstance(redis, RedisCluster) else {})
    try:
        paused = bool(await redis.client_pause(PAUSE_MS, all=False, **nodes))
    except (ResponseError, NotImplementedError, AttributeError):
        paused = False  # a managed service that forbids it: a live export
    try:
        yield paused
    finally:
        if paused:
            await redis.client_unpause(**nodes)
