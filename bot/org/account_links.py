"""One-time codes that link another platform account to an existing member (`/lienket`)."""

from __future__ import annotations

import secrets
from enum import StrEnum

from redis.asyncio import Redis

from bot.org.invites import ALPHABET
from bot.org.models import Member
from bot.storage.atomic import update_model
from bot.storage.keys import Keys

CODE_LENGTH = 8  # invites have 10: a typed code is never mistaken for the other kind
TTL_SECONDS = 600


class LinkStatus(StrEnum):
    """Outcome of redeeming a link code."""

    OK = "ok"
    INVALID = "invalid"  # unknown, expired or already used: indistinguishable on purpose
    TAKEN = "taken"  # the account already belongs to a member
    HAS_CHANNEL = "has_channel"  # the member already has another account on that platform


def normalize_link_code(text: str) -> str | None:
    """A loosely typed link code (lower case, spaces, dashes), or None."""
    cleaned = "".join(c for c in text.upper() if c not in " -_")
    if len(cleaned) == CODE_LENGTH and all(c in ALPHABET for c in cleaned):
        return cleaned
    return None


class AccountLinks:
    """Link codes in Redis (short TTL, single use) and the identity they attach."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def create(self, member_id: str) -> str:
        """A fresh code for the member, valid TTL_SECONDS."""
        while True:
            code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
            if await self._redis.set(self._keys.link_code(code), member_id, nx=True,
                                     ex=TTL_SECONDS):
                return code

    async def redeem(self, code: str, channel: str, user_id: str) -> tuple[LinkStatus,
                                                                             Member | None]:
        """Attach (channel, user_id) to the code's member; the code is spent only on success
        or when it names a member that cannot take this account."""
        key = self._keys.link_code(code)
        member_id = await self._redis.get(key)
        member = await self._member(member_id)
        if member is None:
            return LinkStatus.INVALID, None
        if channel in member.identities:
            return LinkStatus.HAS_CHANNEL, member
        identity = self._keys.identity(channel, user_id)
        if await self._redis.exists(identity):
            return LinkStatus.TAKEN, None
        # GETDEL makes the code single use even when two accounts race with it.
        if await self._redis.getdel(key) != member_id:
            return LinkStatus.INVALID, None
        if not await self._redis.set(identity, member.id, nx=True):
            return LinkStatus.TAKEN, None
        linked = await update_model(self._redis, self._keys.member(member.id), Member,
                                    lambda m: m.model_copy(update={
                                        "identities": {**m.identities, channel: user_id}}))
        return LinkStatus.OK, linked

    async def _member(self, member_id: object) -> Member | None:
        if not member_id:
            return None
        raw = await self._redis.get(self._keys.member(str(member_id)))
        return Member.model_validate_json(raw) if raw else None
