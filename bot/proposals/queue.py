"""Review queues: one Redis Stream per reviewing unit, read through the consumer group
"review" with the reviewer's member id as consumer.

An entry names a proposal (`p`) and the level (`l`) it waits at; the proposal itself (see
store.py) is the truth. The queue only hands entries out: XREADGROUP for new ones, XAUTOCLAIM
for claims left idle too long, XACK + XDEL when an entry is done (so the stream holds only
what still waits, and its length is the queue length).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.keys import Keys

GROUP = "review"


@dataclass(frozen=True)
class Entry:
    """One stream entry: which unit's queue, its id, the proposal and the level."""

    unit: str
    id: str
    code: str
    level: int
    queued: float  # epoch seconds when it was queued (the flow's clock)


@dataclass(frozen=True)
class QueueStats:
    """How much waits in one unit's queue, and since when."""

    unit: str
    length: int
    oldest: float | None  # epoch seconds of the oldest entry


class ReviewQueue:
    """Enqueue, claim, acknowledge and measure review entries."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def add(self, unit: str, code: str, level: int, now: float) -> str:
        """Queue a proposal at a unit; returns the entry id."""
        key = self._keys.review_queue(unit)
        await self._ensure_group(key)
        entry = await self._redis.xadd(key, {"p": code, "l": level, "t": now})
        return str(entry)

    async def own(self, unit: str, consumer: str, count: int = 10) -> list[Entry]:
        """Entries this reviewer holds (claimed, undecided) in a unit's queue."""
        key = self._keys.review_queue(unit)
        try:
            pending = await self._redis.xpending_range(key, GROUP, "-", "+", count,
                                                       consumername=consumer)
        except ResponseError:
            return []  # no stream or group yet: nothing was ever queued there
        ids = [str(p["message_id"]) for p in pending]
        return await self._entries(unit, ids)

    async def reclaim(self, unit: str, consumer: str, idle_ms: int, count: int = 10
                      ) -> list[Entry]:
        """Take over entries another reviewer claimed and left idle longer than `idle_ms`."""
        key = self._keys.review_queue(unit)
        try:
            reply: Any = await self._redis.xautoclaim(key, GROUP, consumer, idle_ms, "0-0",
                                                 count=count)
        except ResponseError:
            return []
        return [e for e in (_entry(unit, i, f) for i, f in reply[1]) if e is not None]

    async def read(self, unit: str, consumer: str, count: int = 1) -> list[Entry]:
        """New entries, never delivered before (each goes to exactly one reviewer)."""
        key = self._keys.review_queue(unit)
        try:
            reply: Any = await self._redis.xreadgroup(GROUP, consumer, {key: ">"}, count=count)
        except ResponseError:
            return []
        out: list[Entry] = []
        for _stream, items in reply or []:
            out += [e for e in (_entry(unit, i, f) for i, f in items) if e is not None]
        return out

    async def done(self, unit: str, entry_id: str) -> None:
        """Acknowledge and delete an entry (idempotent)."""
        key = self._keys.review_queue(unit)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(key, GROUP, entry_id)
            pipe.xdel(key, entry_id)
            await pipe.execute()

    async def stats(self, units: list[str]) -> list[QueueStats]:
        """Length and oldest entry of each unit's queue."""
        out: list[QueueStats] = []
        for unit in units:
            key = self._keys.review_queue(unit)
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.xlen(key)
                pipe.xrange(key, "-", "+", count=1)
                length, first = await pipe.execute()
            oldest = float(first[0][1].get("t", 0)) if first else None
            out.append(QueueStats(unit, int(length), oldest))
        return out

    async def _entries(self, unit: str, ids: list[str]) -> list[Entry]:
        key = self._keys.review_queue(unit)
        out: list[Entry] = []
        for entry_id in ids:
            found: Any = await self._redis.xrange(key, entry_id, entry_id)
            out += [e for e in (_entry(unit, i, f) for i, f in found) if e is not None]
        return out

    async def _ensure_group(self, key: str) -> None:
        try:
            await self._redis.xgroup_create(key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


def _entry(unit: str, entry_id: object, fields: Any) -> Entry | None:
    """Parse a stream entry; a deleted one (XAUTOCLAIM returns it as None) is skipped."""
    if not fields or "p" not in fields:
        return None
    try:
        return Entry(unit, str(entry_id), fields["p"], int(fields.get("l", 0)),
                     float(fields.get("t", 0)))
    except ValueError:
        return None
