"""Per-account conversation state in Redis: open dialog, numbered options, and a lock."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from bot.keys import Keys

# Delete the lock only if we still own it: a lock that expired and was retaken by another
# worker must not be released by us.
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Busy(Exception):
    """The account's previous update is still being handled after the wait limit."""


class Dialog(BaseModel):
    """Where a person is in a multi-step flow, with the draft collected so far."""

    flow: str
    step: str
    data: dict[str, Any] = Field(default_factory=dict)

    def at(self, step: str, **data: Any) -> Dialog:
        """The same dialog moved to `step`, with `data` merged into the draft."""
        return Dialog(flow=self.flow, step=step, data={**self.data, **data})


class Options(BaseModel):
    """Buttons last shown as numbers on a channel without buttons: "1" means actions[0]."""

    labels: list[str]
    actions: list[str]
    prompt: str = ""


class ConversationStore:
    """Dialog state and numbered options per (channel, user), each with a TTL."""

    def __init__(self, redis: Redis, keys: Keys, ttl_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds
        self._unlock = redis.register_script(_UNLOCK)

    async def dialog(self, channel: str, user_id: str) -> Dialog | None:
        """The open dialog, or None."""
        raw = await self._redis.get(self._keys.dialog(channel, user_id))
        return Dialog.model_validate_json(raw) if raw else None

    async def save_dialog(self, channel: str, user_id: str, dialog: Dialog | None) -> None:
        """Store the dialog with a fresh TTL; None deletes it (empty state is not stored)."""
        key = self._keys.dialog(channel, user_id)
        if dialog is None:
            await self._redis.delete(key)
        else:
            await self._redis.set(key, dialog.model_dump_json(), ex=self._ttl)

    async def options(self, channel: str, user_id: str) -> Options | None:
        """Numbered options currently on screen, or None."""
        raw = await self._redis.get(self._keys.options(channel, user_id))
        return Options.model_validate_json(raw) if raw else None

    async def save_options(self, channel: str, user_id: str, options: Options | None) -> None:
        """Remember what the numbers mean; None clears them."""
        key = self._keys.options(channel, user_id)
        if options is None or not options.actions:
            await self._redis.delete(key)
        else:
            await self._redis.set(key, options.model_dump_json(), ex=self._ttl)

    @asynccontextmanager
    async def locked(
        self, channel: str, user_id: str, *, lease: float = 30.0, wait: float = 15.0
    ) -> AsyncIterator[None]:
        """Hold the account's lock; taken before any state is read (see aiogram's FSM)."""
        key = self._keys.lock(channel, user_id)
        token = secrets.token_hex(8)
        deadline = asyncio.get_running_loop().time() + wait
        delay = 0.005
        while not await self._redis.set(key, token, nx=True, px=int(lease * 1000)):
            if asyncio.get_running_loop().time() > deadline:
                raise Busy(f"{channel}:{user_id}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)
        try:
            yield
        finally:
            await self._unlock(keys=[key], args=[token])

    async def first_time(self, channel: str, update_id: str, ttl: int = 86_400) -> bool:
        """True the first time an update id is seen (webhooks can be delivered twice)."""
        return bool(await self._redis.set(self._keys.seen_update(channel, update_id), 1,
                                          nx=True, ex=ttl))
