"""The Zalo OA's OAuth token pair: stored, refreshed on time, and trouble told to an admin.

Access tokens live ~25 h; the refresh token ~3 months, single use and rotating. The pair is one
JSON value in Redis, replaced in one SET the moment Zalo hands out the new pair, and only one
process refreshes at a time (a Redis lock): concurrent senders that all met an expired token
wait for that one refresh and use its result. Refreshes happen on -216 / -220 and ahead of
time (before 25 h, and before the refresh token's 3 months even when the OA is quiet), so a
quiet OA never wakes up with both tokens dead. When Zalo refuses the refresh token, nothing
can be sent on the OA until an operator supplies a new pair: that is logged as an error,
shown in /healthz and told to the admins in chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from redis.asyncio import Redis

from bot.storage.keys import Keys

log = logging.getLogger("dvbot.zalo_oa")

TOKEN_ERRORS = (-216, -220)  # "access token is invalid", "access_token is expired or removed"
ACCESS_LIFETIME = 25 * 3600  # what Zalo gives unless its answer says otherwise
ACCESS_MARGIN = 3600  # refresh this long before the access token expires
REFRESH_LIFETIME = 90 * 86_400
REFRESH_MARGIN = 10 * 86_400  # renew the refresh token this long before its 3 months end
LOCK_LEASE_MS = 30_000
Alert = Callable[[str], Awaitable[None]]


class ZaloOaError(Exception):
    """An error from the OA API: HTTP status and Zalo's `error` code (0: no JSON answer)."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status}/{code}: {message}")
        self.status, self.code, self.message = status, code, message

    @property
    def retryable(self) -> bool:
        """429, 5xx, network trouble and -32 (the app's rate limit) may succeed later."""
        return self.code == -32 or (
            self.code == 0 and (self.status in (0, 429) or self.status >= 500))


class Tokens(BaseModel):
    """The OA's OAuth pair (`refresh_token` is single use) and when each was obtained."""

    access_token: str
    refresh_token: str
    access_at: float = 0.0  # epoch seconds
    expires_in: float = ACCESS_LIFETIME
    refresh_at: float = 0.0
    seed: str = ""  # fingerprint of the configured refresh token this pair grew from

    def due(self, now: float) -> str | None:
        """Why the pair must be refreshed now ("access", "refresh"), or None."""
        if now - self.access_at >= self.expires_in - ACCESS_MARGIN:
            return "access"
        if now - self.refresh_at >= REFRESH_LIFETIME - REFRESH_MARGIN:
            return "refresh"
        return None


def fingerprint(refresh_token: str) -> str:
    """Identifies a configured refresh token without storing it twice."""
    return hashlib.sha256(f"dvbot-zalo-oa-seed:{refresh_token}".encode()).hexdigest()[:16]


class TokenStore:
    """The token pair in Redis, the one-refresh-at-a-time lock, and the trouble note."""

    def __init__(self, redis: Redis, keys: Keys, app_id: str, *,
                 alert: Alert | None = None) -> None:
        self._redis = redis
        self._key = keys.zalo_oa_tokens(app_id)
        self._lock = keys.zalo_oa_refresh_lock(app_id)
        self._trouble = keys.zalo_oa_token_trouble(app_id)
        self.alert = alert

    async def seed(self, access_token: str, refresh_token: str, now: float) -> None:
        """Store the configured pair, unless the stored pair grew from the same configured
        refresh token (it has rotated since): a NEW configured token replaces it."""
        seed = fingerprint(refresh_token)
        raw = await self._redis.get(self._key)
        stored = Tokens.model_validate_json(raw) if raw is not None else None
        if stored is not None and stored.seed == seed:
            return
        if stored is not None and not stored.seed:  # stored before seeds were kept: adopt it
            await self._redis.set(self._key, stored.model_copy(update={
                "seed": seed, "access_at": stored.access_at or 0.0,
                "refresh_at": stored.refresh_at or now}).model_dump_json())
            return
        tokens = Tokens(access_token=access_token, refresh_token=refresh_token,
                        access_at=now if access_token else 0.0, refresh_at=now, seed=seed)
        await self._redis.set(self._key, tokens.model_dump_json())
        await self._redis.delete(self._trouble)

    async def current(self) -> Tokens:
        """The pair in use."""
        raw = await self._redis.get(self._key)
        if raw is None:
            raise ZaloOaError(0, TOKEN_ERRORS[0], "no OA tokens stored")
        return Tokens.model_validate_json(raw)

    async def refresh(self, stale: str, renew: Callable[[str], Awaitable[Tokens]]) -> Tokens:
        """A fresh pair replacing `stale`: renewed here under the lock, or by whoever held the
        lock meanwhile (then `stale` is no longer the stored access token)."""
        owner = secrets.token_hex(8)
        while True:
            tokens = await self.current()
            if tokens.access_token != stale:
                return tokens
            if await self._redis.set(self._lock, owner, nx=True, px=LOCK_LEASE_MS):
                break
            await asyncio.sleep(0.05)
        try:
            tokens = await self.current()
            if tokens.access_token != stale:
                return tokens
            fresh = await self._renew(tokens, renew)
            # One SET, right away: the old refresh token is already spent at Zalo.
            await self._redis.set(self._key, fresh.model_copy(
                update={"seed": tokens.seed}).model_dump_json())
            await self._redis.delete(self._trouble)
            log.info("Zalo OA access token refreshed")
            return fresh
        finally:
            if await self._redis.get(self._lock) == owner:
                await self._redis.delete(self._lock)

    async def _renew(self, tokens: Tokens, renew: Callable[[str], Awaitable[Tokens]]) -> Tokens:
        try:
            return await renew(tokens.refresh_token)
        except ZaloOaError as exc:
            if exc.code not in (0, -32):  # the token was refused: only an operator can help
                await self.note_trouble(f"Zalo từ chối làm mới token ({exc.code}: "
                                        f"{exc.message})")
            raise

    async def note_trouble(self, why: str) -> None:
        """Record that the tokens are dead; the first time, raise the alarm."""
        note = json.dumps({"since": time.time(), "why": why}, ensure_ascii=False)
        if await self._redis.set(self._trouble, note, nx=True):
            log.error("Zalo OA: the token pair cannot be refreshed (%s); nothing can be sent "
                      "on the OA until DVBOT_ZALO_OA_REFRESH_TOKEN gets a new refresh token "
                      "from the Zalo developer console and dvbot is restarted", why)
            if self.alert is not None:
                await self.alert(why)

    async def trouble(self) -> dict[str, Any] | None:
        """The recorded trouble, or None when the tokens work."""
        raw = await self._redis.get(self._trouble)
        return json.loads(raw) if raw else None


class TokenKeeper:
    """Refreshes the pair ahead of time, also when nothing is being sent."""

    def __init__(self, store: TokenStore, renew: Callable[[str], Awaitable[Tokens]], *,
                 every: float = 600.0, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._renew = renew
        self._every = every
        self._clock = clock

    async def check(self) -> str | None:
        """Refresh now if due; why it was refreshed, or None."""
        tokens = await self._store.current()
        why = tokens.due(self._clock())
        if why is not None and await self._store.trouble() is None:
            await self._store.refresh(tokens.access_token, self._renew)
        return why

    async def run(self, stop: asyncio.Event) -> None:
        """Check every few minutes until `stop`."""
        while not stop.is_set():
            try:
                await self.check()
            except ZaloOaError as exc:
                log.warning("Zalo OA: refreshing the tokens ahead of time failed: %s", exc)
            except Exception:  # the store away, a bug: try again next round
                log.exception("Zalo OA: token check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._every)
