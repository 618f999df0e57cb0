"""Per-account order for webhook updates, across every worker behind the load balancer.

The per-account lock keeps two updates of one person from interleaving, but not in order: with
several workers, update 8 may reach its worker before update 7 reaches another. So a worker that
accepts an update adds it to the account's inbox (a sorted set scored by update_id) and then asks
to drain it; the one worker holding the inbox lease handles what is there lowest id first.
A worker that finds the lease taken leaves its update to the holder, which looks again after
letting go; so nothing accepted is stranded, and nothing is handled twice (ZPOPMIN is atomic).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot.channels.telegram import CHANNEL, TelegramChannel
from bot.keys import Keys

log = logging.getLogger("dvbot.ordered")

INBOX_TTL = 86_400  # an inbox nobody drained for a day is dropped rather than kept forever
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Drain:
    """Put on PTB's update queue instead of the update: "handle this account's inbox"."""

    user_id: str


class Inbox:
    """The accepted, not yet handled updates of each account on one channel."""

    def __init__(self, redis: Redis, keys: Keys, channel: str, *, lease: float = 30.0) -> None:
        self._redis = redis
        self._keys = keys
        self._channel = channel
        self._lease_ms = int(lease * 1000)
        self._release = redis.register_script(_RELEASE)

    async def add(self, user_id: str, update_id: int, raw: str) -> None:
        """Accept one update (call after the update_id was marked as seen)."""
        key = self._keys.inbox(self._channel, user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {raw: update_id})
            pipe.expire(key, INBOX_TTL)
            await pipe.execute()

    async def drain(self, user_id: str, handle: Callable[[str], Awaitable[None]]) -> int:
        """Handle the account's updates in update_id order if no other worker is; returns how
        many this call handled."""
        inbox = self._keys.inbox(self._channel, user_id)
        lock = self._keys.inbox_lock(self._channel, user_id)
        handled = 0
        while True:
            token = secrets.token_hex(8)
            if not await self._redis.set(lock, token, nx=True, px=self._lease_ms):
                return handled  # the holder drains what we added: it looks again after release
            try:
                while popped := await self._redis.zpopmin(inbox):
                    await handle(str(popped[0][0]))
                    handled += 1
            finally:
                await self._release(keys=[lock], args=[token])
            # An update added while we held the lease, by a worker that then gave up on it.
            if not await self._redis.exists(inbox):
                return handled


class OrderedTelegram:
    """Accepts webhook updates into the inbox and drains them through the Telegram channel."""

    def __init__(self, channel: TelegramChannel, inbox: Inbox) -> None:
        self._channel = channel
        self._inbox = inbox
        channel.application.add_handler(TypeHandler(Drain, self._on_drain))

    async def accept(self, update: Update, data: dict[str, Any]) -> None:
        """Queue an update that was just taken (its update_id marked seen)."""
        user = update.effective_user
        if user is None:  # nothing per-account to order
            await self._channel.application.update_queue.put(update)
            return
        await self._inbox.add(str(user.id), update.update_id, json.dumps(data))
        await self._channel.application.update_queue.put(Drain(str(user.id)))

    async def _on_drain(self, drain: Drain, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle the account's inbox, lowest update_id first."""
        bot = self._channel.application.bot
        await self._inbox.drain(drain.user_id, lambda raw: self._channel.process(
            Update.de_json(json.loads(raw), bot)))


def ordered_telegram(channel: TelegramChannel, redis: Redis, keys: Keys) -> OrderedTelegram:
    """The ordering front of the Telegram channel for webhook mode."""
    return OrderedTelegram(channel, Inbox(redis, keys, CHANNEL))
