"""Append-only record of security-relevant actions, kept in a capped Redis stream."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from bot.storage.keys import Keys

MAX_ENTRIES = 100_000


class AuditLog:
    """Who did what to which unit; read by admins, never rewritten."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def record(self, actor: str, action: str, **details: str) -> None:
        """Append one entry (approximate trimming keeps the stream bounded)."""
        # redis-py types stream fields as a union dict; ours are plain strings.
        fields: dict[Any, Any] = {"actor": actor, "action": action, **details}
        await self._redis.xadd(self._keys.audit(), fields, maxlen=MAX_ENTRIES, approximate=True)

    async def recent(self, count: int = 50) -> list[dict[str, str]]:
        """Newest entries first."""
        entries = await self._redis.xrevrange(self._keys.audit(), count=count) or []
        return [{"id": str(entry_id), **{str(k): str(v) for k, v in (fields or {}).items()}}
                for entry_id, fields in entries]
