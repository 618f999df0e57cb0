"""Per-account order for webhook updates, across every worker behind the load balancer.

The per-account lock keeps two updates of one person from interleaving, but not in order: with
several workers, update 8 may reach its worker before update 7 reaches another. So a worker that
accepts an update adds it to the account's inbox (a sorted set scored by update_id) and then asks
to drain it; the one worker holding the inbox lease handles what is there lowest id first.
A worker that finds the lease taken leaves its update to the holder, which looks again after
letting go; so nothing accepted is stranded, and nothing is handled twice (ZPOPMIN is atomic).

A worker killed after accepting updates (or while draining) leaves them behind: an index of
non-empty inboxes (a sorted set by when each became non-empty) lets every worker's sweeper
find inboxes older than SWEEP_AGE whose lease is free, and drain them. The holder renews its
lease while a slow handler runs, so a long step is not mistaken for a dead worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.channels.telegram import CHANNEL, TelegramChannel
from bot.channels.telegram_updates import BadUpdate, Inbound
from bot.privacy.seal import SealBroken, Sealer
from bot.storage.keys import Keys
from bot.storage.unlocks import RELEASE, RENEW

log = logging.getLogger("dvbot.ordered")

INBOX_TTL = 86_400  # an inbox nobody drained for a day is dropped rather than kept forever
SWEEP_EVERY = 1.0  # seconds between two looks at the index of non-empty inboxes
SWEEP_AGE = 3.0  # an inbox this old was left behind: a live worker drains within milliseconds
SWEEP_BATCH = 100
INBOX_PURPOSE = "inbox"


class Inbox:
    """The accepted, not yet handled updates of each account on one channel."""

    def __init__(self, redis: Redis, keys: Keys, channel: str, *, lease: float = 30.0,
                 sealer: Sealer | None = None) -> None:
        self._redis = redis
        # A waiting update holds what the person typed next to their account (an anonymous
        # thread's text, a survey answer): sealed, so the AOF never has it in the clear.
        self._sealer = sealer
        self._keys = keys
        self._channel = channel
        self._lease_ms = int(lease * 1000)
        self._release = redis.register_script(RELEASE)
        self._renew = redis.register_script(RENEW)

    async def add(self, user_id: str, update_id: int, raw: str) -> None:
        """Accept one update (call after the update_id was marked as seen)."""
        key = self._keys.inbox(self._channel, user_id)
        if self._sealer is not None:
            raw = self._sealer.seal_text(INBOX_PURPOSE, raw, bound=key)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {raw: update_id})
            pipe.expire(key, INBOX_TTL)
            await pipe.execute()
        # After the inbox (see `_unindex` for why this order), apart: another slot. NX keeps
        # the time the inbox became non-empty, which is what the sweeper ages.
        await self._redis.zadd(self._keys.inboxes(self._channel), {user_id: time.time()},
                               nx=True)

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
            renewing = asyncio.create_task(self._keep(lock, token))
            try:
                while popped := await self._redis.zpopmin(inbox):
                    try:
                        raw = self._opened(str(popped[0][0]), inbox)
                    except SealBroken:  # from before sealing, or another secret: cannot be read
                        log.warning("dropped an inbox entry that does not open")
                        continue
                    await handle(raw)
                    handled += 1
            finally:
                renewing.cancel()
                await self._release(keys=[lock], args=[token])
            # An update added while we held the lease, by a worker that then gave up on it.
            if not await self._unindex(user_id):
                return handled

    def _opened(self, stored: str, key: str) -> str:
        """The raw update as it was accepted (sealed ones opened)."""
        return self._sealer.open_text(INBOX_PURPOSE, stored, bound=key) if self._sealer else stored

    async def _keep(self, lock: str, token: str) -> None:
        """Renew the lease every third of it while the drain runs (a slow handler)."""
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            with contextlib.suppress(RedisError):  # a blip: the next renewal tries again
                if not await self._renew(keys=[lock], args=[token, self._lease_ms]):
                    return  # lost (expired and retaken): nothing of ours left to renew

    async def _unindex(self, user_id: str) -> bool:
        """Take the account off the index unless its inbox has entries; True if it has.

        Off the index first, then look: a worker adding meanwhile adds to the inbox before the
        index, so either we see its entry here (and put the account back), or its index entry
        comes after our removal. Either way a non-empty inbox stays indexed."""
        index = self._keys.inboxes(self._channel)
        await self._redis.zrem(index, user_id)
        if not await self._redis.exists(self._keys.inbox(self._channel, user_id)):
            return False
        await self._redis.zadd(index, {user_id: time.time()}, nx=True)
        return True

    async def left_behind(self, age: float = SWEEP_AGE) -> list[str]:
        """Accounts whose inbox has waited longer than `age` seconds, oldest first."""
        found = await self._redis.zrangebyscore(self._keys.inboxes(self._channel), "-inf",
                                                time.time() - age, start=0, num=SWEEP_BATCH)
        return [str(user_id) for user_id in found]


class OrderedTelegram:
    """Accepts webhook updates into the inbox and drains them through the Telegram channel."""

    def __init__(self, channel: TelegramChannel, inbox: Inbox) -> None:
        self._channel = channel
        self._inbox = inbox

    async def accept(self, inbound: Inbound, raw: str) -> None:
        """Queue an update that was just taken (its update_id marked seen); `raw` is its JSON."""
        await self._inbox.add(inbound.account, inbound.update_id, raw)
        self._drain(inbound.account)

    def _drain(self, user_id: str) -> None:
        """Handle the account's inbox after this process's earlier work for the account."""
        self._channel.order.submit(user_id, self._inbox_of(user_id))

    async def sweep(self) -> int:
        """Queue a drain for every inbox left behind; how many were queued. A drain whose
        lease is held (a live worker on a slow step) returns at once."""
        accounts = await self._inbox.left_behind()
        for user_id in accounts:
            self._drain(user_id)
        return len(accounts)

    @contextlib.asynccontextmanager
    async def sweeping(self, every: float = SWEEP_EVERY) -> AsyncIterator[None]:
        """Sweep in the background while the webhook server runs."""
        async def loop() -> None:
            while True:
                await asyncio.sleep(every)
                try:
                    if swept := await self.sweep():
                        log.info("draining %d inbox(es) another worker left behind", swept)
                except RedisError as exc:  # Redis briefly down: the next round tries again
                    log.warning("inbox sweep failed: %s", exc)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _inbox_of(self, user_id: str) -> None:
        """Handle the account's inbox, lowest update_id first."""
        await self._inbox.drain(user_id, self._handle)

    async def _handle(self, raw: str) -> None:
        try:
            inbound = self._channel.parse(orjson.loads(raw))
        except (BadUpdate, orjson.JSONDecodeError):  # checked when accepted: not expected
            log.warning("dropped an inbox entry that is not an update")
            return
        if inbound is not None:
            await self._channel.process(inbound)


def ordered_telegram(channel: TelegramChannel, redis: Redis, keys: Keys,
                     sealer: Sealer | None = None) -> OrderedTelegram:
    """The ordering front of the Telegram channel for webhook mode."""
    return OrderedTelegram(channel, Inbox(redis, keys, CHANNEL, sealer=sealer))
