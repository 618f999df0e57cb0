"""Invite codes: created for a unit and role, redeemed atomically, listed and revoked."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from redis.asyncio import Redis

from bot.org.models import Invite, Role
from bot.storage.keys import Keys

# Crockford-like alphabet without 0/O/1/I/L: codes get read aloud and typed on phones.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10

# Check and consume in one step so two people racing for the last use cannot both get it.
# A repeat by the same account is "ok" without consuming again: retries are harmless.
_REDEEM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1 then return 'ok' end
local f = redis.call('HMGET', KEYS[1], 'revoked', 'expires_at', 'uses', 'max_uses')
if f[1] == '1' then return 'revoked' end
if tonumber(ARGV[1]) >= tonumber(f[2]) then return 'expired' end
if tonumber(f[3]) >= tonumber(f[4]) then return 'used_up' end
redis.call('HINCRBY', KEYS[1], 'uses', 1)
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], math.max(1, math.ceil(tonumber(f[2]) - tonumber(ARGV[1]))) + 2592000)
return 'ok'
"""


class InviteStatus(StrEnum):
    """Outcome of checking or redeeming an invite."""

    OK = "ok"
    MISSING = "missing"
    EXPIRED = "expired"
    USED_UP = "used_up"
    REVOKED = "revoked"


@dataclass(frozen=True)
class InviteCheck:
    """What a code means right now."""

    status: InviteStatus
    invite: Invite | None


def normalize_code(text: str) -> str | None:
    """Accept a code typed loosely (lower case, spaces, dashes); None if it cannot be one."""
    cleaned = "".join(c for c in text.upper() if c not in " -_")
    if len(cleaned) == CODE_LENGTH and all(c in ALPHABET for c in cleaned):
        return cleaned
    return None


class InviteStore:
    """Invites as Redis hashes, one hash tag each."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._redeem = redis.register_script(_REDEEM)

    async def create(
        self, *, unit: str, role: Role, created_by: str, max_uses: int, days: int, now: datetime
    ) -> Invite:
        """Create a fresh invite with an unguessable code."""
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        invite = Invite(code=code, unit=unit, role=role, max_uses=max_uses,
                        expires_at=now + timedelta(days=days), created_by=created_by,
                        created_at=now)
        key = self._keys.invite(code)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={
                "unit": unit, "role": role.value, "max_uses": max_uses, "uses": 0,
                "expires_at": f"{invite.expires_at.timestamp():.0f}", "revoked": 0,
                "created_by": created_by, "created_at": f"{now.timestamp():.0f}",
            })
            # Keep spent invites a while for the audit trail, then let Redis drop them.
            pipe.expireat(key, invite.expires_at + timedelta(days=90))
            await pipe.execute()
        await self._redis.zadd(self._keys.invites(), {code: now.timestamp()})
        return invite

    async def get(self, code: str) -> Invite | None:
        """The invite, or None."""
        stored = await self._redis.hgetall(self._keys.invite(code))
        raw = {str(k): str(v) for k, v in stored.items()}
        if not raw:
            return None
        return Invite(
            code=code, unit=raw["unit"], role=Role(raw["role"]), max_uses=int(raw["max_uses"]),
            uses=int(raw["uses"]),
            expires_at=datetime.fromtimestamp(int(raw["expires_at"]), tz=UTC),
            revoked=raw["revoked"] == "1", created_by=raw["created_by"],
            created_at=datetime.fromtimestamp(int(raw["created_at"]), tz=UTC),
        )

    async def check(self, code: str, now: datetime) -> InviteCheck:
        """Say whether a code could be redeemed now, without consuming it."""
        invite = await self.get(code)
        if invite is None:
            return InviteCheck(InviteStatus.MISSING, None)
        if invite.revoked:
            return InviteCheck(InviteStatus.REVOKED, invite)
        if now >= invite.expires_at:
            return InviteCheck(InviteStatus.EXPIRED, invite)
        if invite.uses >= invite.max_uses:
            return InviteCheck(InviteStatus.USED_UP, invite)
        return InviteCheck(InviteStatus.OK, invite)

    async def redeem(self, code: str, account: str, now: datetime) -> InviteStatus:
        """Consume one use for `account` atomically (idempotent per account)."""
        keys = [self._keys.invite(code), self._keys.invite_redeemers(code)]
        result = await self._redeem(keys=keys, args=[f"{now.timestamp():.0f}", account])
        return InviteStatus(result)

    async def revoke(self, code: str) -> bool:
        """Revoke an invite; False if there is no such code."""
        key = self._keys.invite(code)
        if not await self._redis.exists(key):
            return False
        await self._redis.hset(key, "revoked", 1)
        return True

    async def list(self, unit: str | None = None, limit: int = 200) -> list[Invite]:
        """Newest invites first, optionally for one unit."""
        codes = await self._redis.zrevrange(self._keys.invites(), 0, limit * 5)
        found = [await self.get(str(code)) for code in codes]
        return [i for i in found if i is not None and (unit is None or i.unit == unit)][:limit]

