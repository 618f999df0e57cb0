"""Members as this process last read them, parsed once and reused while unchanged.

Every update needs its sender's member record. The dispatcher reads the record's JSON in the
round trip that takes the account's lock (it knows the member id from the account's previous
update), and this cache turns it into a `Member` without parsing it again when it is byte for
byte what was parsed before: the stored JSON is its own version, so a change made by any worker
is seen at once. Only an account seen for the first time, or moved to another member, costs a
round trip of its own.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.org.models import Member
from bot.storage.keys import Keys

LIMIT = 200_000  # members kept; past it the cache starts again (a province is ~150,000)


class MemberCache:
    """Account -> member id, and member id -> (stored JSON, parsed member)."""

    def __init__(self, redis: Redis, keys: Keys, limit: int = LIMIT) -> None:
        self._redis = redis
        self._keys = keys
        self._limit = limit
        self._ids: dict[str, str] = {}
        self._parsed: dict[str, tuple[str, Member]] = {}

    def key_for(self, channel: str, user_id: str) -> str | None:
        """The member key to read with the account's state: the member it had last time."""
        member_id = self.id_for(channel, user_id)
        return self._keys.member(member_id) if member_id is not None else None

    def id_for(self, channel: str, user_id: str) -> str | None:
        """The member the account had last time in this process, if known."""
        return self._ids.get(f"{channel}:{user_id}")

    async def resolve(self, channel: str, user_id: str, member_id: str | None,
                      raw: str | None) -> Member | None:
        """The member behind the account; `raw` is what was read under `key_for`."""
        account = f"{channel}:{user_id}"
        if member_id is None:
            self._ids.pop(account, None)
            return None
        if self._ids.get(account) != member_id:  # first time here, or linked elsewhere since
            raw = str(await self._redis.get(self._keys.member(member_id)) or "") or None
            if len(self._ids) >= self._limit:
                self._ids.clear()
            self._ids[account] = member_id
        return self.parse(member_id, raw)

    def parse(self, member_id: str, raw: str | None) -> Member | None:
        """The member stored as `raw`, parsed only if it differs from last time."""
        if raw is None:
            self._parsed.pop(member_id, None)
            return None
        known = self._parsed.get(member_id)
        if known is not None and known[0] == raw:
            return known[1].model_copy()
        member = Member.model_validate_json(raw)
        if len(self._parsed) >= self._limit:
            self._parsed.clear()
        self._parsed[member_id] = (raw, member)
        return member.model_copy()
