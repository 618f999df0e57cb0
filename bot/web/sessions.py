"""Sign-in links and sessions of the dashboard, kept in Redis as hashes of their tokens.

A link is single use (GETDEL), bound to one member and valid 10 minutes; a session lives 8 hours
from its last request. Only SHA-256 hashes of the tokens are stored, so a copy of the store
cannot be turned into a working link or cookie.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.storage.keys import Keys

LINK_SECONDS = 10 * 60
SESSION_IDLE_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Session:
    """An open dashboard session: whose, and the token its forms must carry."""

    member_id: str
    csrf: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WebSessions:
    """Issues and redeems sign-in links; opens, reads (refreshing) and closes sessions."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def issue_link(self, member_id: str) -> str:
        """A fresh one-time sign-in token for `member_id`."""
        token = secrets.token_urlsafe(32)
        await self._redis.set(self._keys.web_link(_digest(token)), member_id, ex=LINK_SECONDS)
        return token

    async def redeem(self, token: str) -> str | None:
        """The member the token was issued to, once; None if used, expired or unknown."""
        if not token or len(token) > 128:
            return None
        member_id = await self._redis.getdel(self._keys.web_link(_digest(token)))
        return str(member_id) if member_id is not None else None

    async def open(self, member_id: str) -> tuple[str, Session]:
        """A new session for `member_id`: (cookie value, session)."""
        sid = secrets.token_urlsafe(32)
        session = Session(member_id, secrets.token_urlsafe(24))
        value = json.dumps({"member": member_id, "csrf": session.csrf})
        await self._redis.set(self._keys.web_session(_digest(sid)), value,
                              ex=SESSION_IDLE_SECONDS)
        return sid, session

    async def get(self, sid: str) -> Session | None:
        """The session of a cookie value, its idle expiry pushed back; None if gone."""
        if not sid or len(sid) > 128:
            return None
        key = self._keys.web_session(_digest(sid))
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.expire(key, SESSION_IDLE_SECONDS, xx=True)
            raw, _ = await pipe.execute()
        if raw is None:
            return None
        data = json.loads(raw)
        return Session(str(data["member"]), str(data["csrf"]))

    async def close(self, sid: str) -> None:
        """End a session (logout): the cookie no longer opens anything."""
        await self._redis.delete(self._keys.web_session(_digest(sid)))
