"""Per-account conversation state in Redis: open dialog, numbered options, and a lock.

Dialogs and numbered options are sealed at rest (AES-GCM, key from the deployment secret,
bound to their key): a dialog may hold an anonymous survey's answers in progress, and the
options on screen which boxes were ticked, so neither may sit in the store's files in clear."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from bot.privacy.seal import SealBroken, Sealer
from bot.storage.keys import Keys
from bot.storage.unlocks import RELEASE, RENEW, Unlocks

log = logging.getLogger("dvbot.conversation")


@dataclass(frozen=True)
class Held:
    """An account's lock, held, with the state read when it was taken."""

    channel: str
    user_id: str
    token: str
    dialog: Dialog | None
    options: Options | None
    member_id: str | None  # the member behind the account, None if not registered
    also: tuple[Any, ...] = ()  # the values of the keys `hold` was asked to read as well


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
    # The screen asks for text: digits are text there, its buttons are chosen by their words.
    keyed: bool = False
    # These options are a notice's (an announcement arrived), not a chat reply's.
    notice: bool = False
    # [label, action] of recent notices' buttons: typing a label's words still works after
    # a later screen took over the numbers (bot.engine.typed).
    notices: list[list[str]] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing a typed number or word could pick: not worth storing."""
        return not self.actions and not self.notices


class ConversationStore:
    """Dialog state and numbered options per (channel, user), each with a TTL."""

    def __init__(self, redis: Redis, keys: Keys, ttl_seconds: int, sealer: Sealer) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds
        self._sealer = sealer
        self._unlock = redis.register_script(RELEASE)
        self._unlocks = Unlocks(redis)

    @property
    def unlocks(self) -> Unlocks:
        """The batched lock releases (their counts go to /metrics)."""
        return self._unlocks

    def _seal(self, key: str, state: BaseModel) -> str:
        return self._sealer.seal_text("conversation", state.model_dump_json(), key)

    def _open(self, key: str, raw: object) -> str | None:
        if not raw:
            return None
        try:
            return self._sealer.open_text("conversation", str(raw), key)
        except SealBroken:
            # Written before sealing, or under another secret: a lost step, not a stuck account.
            log.warning("dropping conversation state that does not open")
            return None

    def _dialog(self, key: str, raw: object) -> Dialog | None:
        text = self._open(key, raw)
        return Dialog.model_validate_json(text) if text else None

    def _options(self, key: str, raw: object) -> Options | None:
        text = self._open(key, raw)
        return Options.model_validate_json(text) if text else None

    async def dialog(self, channel: str, user_id: str) -> Dialog | None:
        """The open dialog, or None."""
        key = self._keys.dialog(channel, user_id)
        return self._dialog(key, await self._redis.get(key))

    async def save_dialog(self, channel: str, user_id: str, dialog: Dialog | None) -> None:
        """Store the dialog with a fresh TTL; None deletes it (empty state is not stored)."""
        key = self._keys.dialog(channel, user_id)
        if dialog is None:
            await self._redis.delete(key)
        else:
            await self._redis.set(key, self._seal(key, dialog), ex=self._ttl)

    async def options(self, channel: str, user_id: str) -> Options | None:
        """Numbered options currently on screen, or None."""
        key = self._keys.options(channel, user_id)
        return self._options(key, await self._redis.get(key))

    async def save_options(self, channel: str, user_id: str, options: Options | None) -> None:
        """Remember what the numbers mean; None clears them."""
        key = self._keys.options(channel, user_id)
        if options is None or options.empty:
            await self._redis.delete(key)
        else:
            await self._redis.set(key, self._seal(key, options), ex=self._ttl)

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

    # --- one update's state: one round trip in, one out (and none out if nothing changed) ---
    async def hold(self, channel: str, user_id: str, *, also: Sequence[str] = (),
                   lease: float = 30.0, wait: float = 15.0) -> Held:
        """Take the account's lock and read its dialog, options, identity and the keys `also`
        in one round trip.

        The reads are pipelined *after* the SET NX on the same connection (and, on a cluster,
        the same node: the keys share the account's hash tag), so they see the state as the
        previous holder left it; when the lock is taken they are thrown away and we retry.
        On a single server the identity and `also` are read in the same trip (on a cluster
        they live in other slots, whose nodes may answer before the lock is ours: read after
        it instead). A lock whose release this process has not sent yet is taken back and its
        lease renewed in that same trip. Release with `release`."""
        lock = self._keys.lock(channel, user_id)
        token = self._unlocks.take_back(lock)
        extra = [self._keys.identity(channel, user_id), *also]
        same_trip = not isinstance(self._redis, RedisCluster)
        deadline = asyncio.get_running_loop().time() + wait
        delay = 0.005
        while True:
            if token is None:
                await self._unlocks.settled(lock)  # our own release of it, on its way
            mine = token or secrets.token_hex(8)
            got, state, rest = await self._try(lock, mine, token is not None, lease,
                                               extra if same_trip else [], channel, user_id)
            if got:
                break
            token = None  # taken back but lost (its lease ran out): queue like anyone
            if asyncio.get_running_loop().time() > deadline:
                raise Busy(f"{channel}:{user_id}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)
        if not same_trip:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in extra:
                    pipe.get(key)
                rest = await pipe.execute()
        dialog, options = state
        return Held(channel=channel, user_id=user_id, token=mine,
                    dialog=self._dialog(self._keys.dialog(channel, user_id), dialog),
                    options=self._options(self._keys.options(channel, user_id), options),
                    member_id=str(rest[0]) if rest[0] else None, also=tuple(rest[1:]))

    async def _try(self, lock: str, token: str, renew: bool, lease: float, extra: list[str],
                   channel: str, user_id: str) -> tuple[bool, list[Any], list[Any]]:
        """One attempt: take (or renew) the lock, read the state and `extra`."""
        async with self._redis.pipeline(transaction=False) as pipe:
            if renew:
                pipe.eval(RENEW, 1, lock, token, int(lease * 1000))
            else:
                pipe.set(lock, token, nx=True, px=int(lease * 1000))
            keys = [self._keys.dialog(channel, user_id), self._keys.options(channel, user_id),
                    *extra]
            if isinstance(self._redis, RedisCluster):  # its pipelines refuse MGET
                for key in keys:
                    pipe.get(key)
                got, *values = await pipe.execute()
            else:  # one command instead of one per key: less to pack and parse
                pipe.mget(keys)
                got, values = await pipe.execute()
        return bool(got), values[:2], values[2:]

    async def release(self, held: Held, *, dialog: Dialog | None = None,
                      options: Options | None = None, save: bool = False,
                      save_options: bool = False,
                      seen: tuple[str, str, float] | None = None) -> None:
        """Unlock, first storing the dialog (`save`) and the options (`save_options`) in the
        same round trip. Without `save` (the flow failed) the state stays as it was. State
        that did not change is not written: the lock goes back with the next batch of
        releases (bot/storage/unlocks.py), which refreshes the TTL of what was kept. `seen`
        (sorted set, member, score) records the account's last interaction in that same trip."""
        c, u = held.channel, held.user_id
        if options is None or options.empty:
            options = None
        new_dialog = save and dialog != held.dialog
        new_options = save_options and options != held.options
        if not new_dialog and not new_options:
            kept = [key for key, value in ((self._keys.dialog(c, u), held.dialog),
                                           (self._keys.options(c, u), held.options))
                    if value is not None]
            self._unlocks.release(self._keys.lock(c, u), held.token, touch=tuple(kept),
                                  ttl=self._ttl, seen=seen)
            return
        seen = seen or self._unlocks.carried(self._keys.lock(c, u))
        async with self._redis.pipeline(transaction=False) as pipe:
            if new_dialog:
                self._put(pipe, self._keys.dialog(c, u), dialog)
            if new_options:
                self._put(pipe, self._keys.options(c, u), options)
            if seen is not None:
                pipe.zadd(seen[0], {seen[1]: seen[2]}, gt=True)
            pipe.eval(RELEASE, 1, self._keys.lock(c, u), held.token)
            await pipe.execute()

    def _put(self, pipe: Any, key: str, value: BaseModel | None) -> None:
        if value is None:
            pipe.delete(key)
        else:
            pipe.set(key, self._seal(key, value), ex=self._ttl)

    async def settle(self) -> None:
        """Send the lock releases still pending (before shutdown, or a look at the store)."""
        await self._unlocks.settle()
        if self._unlocks.batches:
            log.info("lock releases so far: %d in %d batches", self._unlocks.released,
                     self._unlocks.batches)

    async def first_time(self, channel: str, update_id: str, ttl: int = 86_400) -> bool:
        """True the first time an update id is seen (webhooks can be delivered twice)."""
        return bool(await self._redis.set(self._keys.seen_update(channel, update_id), 1,
                                          nx=True, ex=ttl))
