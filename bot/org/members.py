"""Registered members, their platform accounts and their role grants."""

from __future__ import annotations

import builtins
from datetime import datetime

from redis.asyncio import Redis

from bot.org.models import Grant, Member, Role
from bot.storage.atomic import update_model
from bot.storage.keys import Keys


class MemberNotFound(LookupError):
    """No member with that id."""


class MemberStore:
    """Members as JSON strings; an account -> member index per channel."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def get(self, member_id: str) -> Member | None:
        """The member, or None."""
        raw = await self._redis.get(self._keys.member(member_id))
        return Member.model_validate_json(raw) if raw else None

    async def many(self, member_ids: list[str], batch: int = 500) -> list[Member]:
        """Members by id in one round trip per `batch` (ids that no longer exist are skipped)."""
        found: list[Member] = []
        for start in range(0, len(member_ids), batch):
            async with self._redis.pipeline(transaction=False) as pipe:
                for member_id in member_ids[start:start + batch]:
                    pipe.get(self._keys.member(member_id))
                raws = await pipe.execute()
            found += [Member.model_validate_json(raw) for raw in raws if raw]
        return found

    async def by_account(self, channel: str, user_id: str) -> Member | None:
        """The member behind a platform account, or None if not registered."""
        member_id = await self._redis.get(self._keys.identity(channel, user_id))
        return await self.get(str(member_id)) if member_id else None

    async def register(
        self, *, channel: str, user_id: str, name: str, unit: str, grants: list[Grant],
        now: datetime,
    ) -> Member:
        """Create a member for an account; a retry for the same account returns the first one."""
        identity = self._keys.identity(channel, user_id)
        existing = await self.by_account(channel, user_id)
        if existing is not None:
            return existing
        member_id = str(await self._redis.incr(self._keys.member_seq()))
        member = Member(id=member_id, name=name, unit=unit, grants=grants,
                        identities={channel: user_id}, joined_at=now)
        await self._redis.set(self._keys.member(member_id), member.model_dump_json())
        # SET NX makes the account claim the race-deciding step: a concurrent duplicate loses.
        if not await self._redis.set(identity, member_id, nx=True):
            await self._redis.delete(self._keys.member(member_id))
            winner = await self.by_account(channel, user_id)
            assert winner is not None
            return winner
        await self._redis.sadd(self._keys.unit_members(unit), member_id)
        await self._redis.zadd(self._keys.members_all(), {member_id: now.timestamp()})
        return member

    async def rename(self, member_id: str, name: str) -> Member:
        """Change the member's full name (they typed it wrong at sign-up)."""
        updated = await update_model(self._redis, self._keys.member(member_id), Member,
                                     lambda m: m.model_copy(update={"name": name}))
        if updated is None:
            raise MemberNotFound(member_id)
        return updated

    async def add_grant(self, member_id: str, grant: Grant) -> Member:
        """Add a role over a unit (no-op if already held)."""
        return await self._update_grants(member_id, add=grant)

    async def remove_grant(self, member_id: str, grant: Grant) -> Member:
        """Remove a role over a unit (no-op if not held)."""
        return await self._update_grants(member_id, remove=grant)

    async def _update_grants(
        self, member_id: str, *, add: Grant | None = None, remove: Grant | None = None
    ) -> Member:
        def change(member: Member) -> Member:
            grants = [g for g in member.grants if g != remove]
            if add is not None and add not in grants and add.role is not Role.MEMBER:
                grants.append(add)
            return member.model_copy(update={"grants": grants})

        updated = await update_model(self._redis, self._keys.member(member_id), Member, change)
        if updated is None:
            raise MemberNotFound(member_id)
        return updated

    async def list(self, unit: str | None = None, limit: int = 1000) -> list[Member]:
        """Members of one unit (home unit only), or everyone, oldest first."""
        if unit is not None:
            ids = sorted(map(str, await self._redis.smembers(self._keys.unit_members(unit))),
                         key=int)
        else:
            ids = [str(i) for i in await self._redis.zrange(self._keys.members_all(), 0, limit - 1)]
        found = [await self.get(i) for i in ids[:limit]]
        return [m for m in found if m is not None]

    async def count(self) -> int:
        """How many members are registered."""
        return int(await self._redis.zcard(self._keys.members_all()))

    async def page(self, units: builtins.list[str], offset: int, limit: int
                   ) -> tuple[int, builtins.list[Member]]:
        """Members of `units` (unit by unit, ids ascending within each), `limit` from `offset`,
        and the total — reading only the member sets the page touches, not every one."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for unit in units:
                pipe.scard(self._keys.unit_members(unit))
            sizes = [int(n) for n in await pipe.execute()]
        ids: builtins.list[str] = []  # `list` is a method of this class
        start = 0
        for unit, size in zip(units, sizes, strict=True):
            if start + size > offset and start < offset + limit and size:
                members = sorted(map(str, await self._redis.smembers(
                    self._keys.unit_members(unit))), key=int)
                ids += members[max(0, offset - start):offset + limit - start]
            start += size
            if start >= offset + limit:
                break
        return sum(sizes), await self.many(ids[:limit])
