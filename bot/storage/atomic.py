"""Optimistic read-modify-write of one JSON model key (WATCH / MULTI / EXEC)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import WatchError

M = TypeVar("M", bound=BaseModel)


async def update_model(redis: Redis, key: str, model: type[M],
                       change: Callable[[M], M]) -> M | None:
    """Apply `change` to the stored model atomically; None if the key does not exist.

    A WatchError means another writer changed the key between our read and write: read
    again and re-apply, so no concurrent update is ever lost (arq's "someone else won").
    """
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(key)
                raw = await pipe.get(key)
                if raw is None:
                    return None
                updated = change(model.model_validate_json(raw))
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(key, updated.model_dump_json(), keepttl=True)
                await pipe.execute()
                return updated
            except WatchError:
                continue
