"""update_model: concurrent read-modify-writes never lose an update, and TTLs are kept."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel
from redis.asyncio import Redis

from bot.storage.atomic import update_model


class Counter(BaseModel):
    value: int = 0
    seen: list[int] = []


async def test_concurrent_updates_are_all_applied(redis: Redis) -> None:
    await redis.set("t:counter", Counter().model_dump_json(), ex=600)

    def bump(n: int):  # type: ignore[no-untyped-def]
        return lambda c: c.model_copy(update={"value": c.value + 1, "seen": [*c.seen, n]})

    await asyncio.gather(*(update_model(redis, "t:counter", Counter, bump(n)) for n in range(30)))
    raw = await redis.get("t:counter")
    assert raw is not None
    final = Counter.model_validate_json(raw)
    assert final.value == 30 and sorted(final.seen) == list(range(30))
    assert 0 < await redis.ttl("t:counter") <= 600


async def test_missing_key_returns_none(redis: Redis) -> None:
    assert await update_model(redis, "t:none", Counter, lambda c: c) is None
    assert not await redis.exists("t:none")
