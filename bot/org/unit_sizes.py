"""How many home members each unit has, kept per process and re-counted only after a join.

Reports over a province name thousands of units; asking Redis for every unit's SCARD costs a
client-side pipeline of thousands of commands on every report. Members only ever join (a
member's home unit is written once, at registration, before the member is added to the set
of all members), so the size of that set is a version: while it stays the same, no unit's
size has changed, and each process keeps the sizes it has counted. One ZCARD per report.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.storage.keys import Keys


class UnitSizes:
    """Unit id -> home members, valid while the number of members is unchanged."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._version = -1
        self._sizes: dict[str, int] = {}

    async def of(self, units: list[str]) -> list[int]:
        """The size of each unit, in order; counts only units not counted since the last join."""
        version = int(await self._redis.zcard(self._keys.members_all()))
        if version != self._version:
            self._version, self._sizes = version, {}
        missing = [unit for unit in dict.fromkeys(units) if unit not in self._sizes]
        fresh: dict[str, int] = {}
        if missing:
            async with self._redis.pipeline(transaction=False) as pipe:
                for unit in missing:
                    pipe.scard(self._keys.unit_members(unit))
                fresh = dict(zip(missing, map(int, await pipe.execute()), strict=True))
            if self._version == version:  # else another call saw a join: it counts afresh
                self._sizes.update(fresh)
        return [fresh[unit] if unit in fresh else self._sizes[unit] for unit in units]
