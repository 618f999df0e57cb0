"""Threads in Redis: one JSON value per thread changed only by a version-checked script, a
sorted set per unit of the threads waiting there, a member's sealed list, monthly counters."""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis
from redis.exceptions import WatchError

from bot.storage.keys import Keys
from bot.tamtu.models import Thread

QUOTA_TTL = 2 * 86_400  # a day's count outlives its day (time zones), then disappears

# KEYS: thread. ARGV: expected version, new JSON. 1 applied, 0 changed meanwhile, -1 missing.
_TRANSITION = """
local raw = redis.call('GET', KEYS[1])
if not raw then return -1 end
if tonumber(cjson.decode(raw)['version']) ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""


# KEYS: the month's counters. ARGV: unit, row, unit, row, ... Sums fields `unit|topic|a|m` by
# topic and by row. Returns a flat list of name, value.
_ROLLUP = """
local row = {}
for i = 1, #ARGV, 2 do row[ARGV[i]] = ARGV[i + 1] end
local sums = {}
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local unit, topic, kind, metric = string.match(fields[i], '^([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  local group = unit and row[unit]
  if group then
    local value = tonumber(fields[i + 1])
    local t = 't|' .. topic .. '|' .. kind .. '|' .. metric
    local u = 'u|' .. group .. '|' .. kind .. '|' .. metric
    sums[t] = (sums[t] or 0) + value
    sums[u] = (sums[u] or 0) + value
  end
end
local out = {}
for name, value in pairs(sums) do
  table.insert(out, name)
  table.insert(out, value)
end
return out
"""


class Conflict(Exception):
    """The thread changed since the caller read it."""


class ThreadStore:
    """Storage of threads, queues, sealed lists, quotas and report counters."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._transition = redis.register_script(_TRANSITION)
        self._rollup = redis.register_script(_ROLLUP)

    def key(self, code: str) -> str:
        """The thread's key (what its sealed sender is bound to)."""
        return self._keys.tamtu(code)

    async def next_seq(self) -> int:
        """The next place in the queues."""
        return int(await self._redis.incr(self._keys.tamtu_seq()))

    async def create(self, thread: Thread, conn: Redis | None = None) -> bool:
        """Store a new thread; False when its code is taken (the caller draws another)."""
        client = conn or self._redis
        return bool(await client.set(self.key(thread.code), thread.model_dump_json(), nx=True))

    async def apply(self, before: Thread, after: Thread) -> Thread:
        """Replace `before` by `after` (version + 1) unless someone changed it meanwhile."""
        assert after.version == before.version + 1
        done = int(await self._transition(keys=[self.key(before.code)],
                                          args=[before.version, after.model_dump_json()]))
        if done != 1:
            raise Conflict(before.code)
        return after

    async def get(self, code: str) -> Thread | None:
        """The thread, or None."""
        raw = await self._redis.get(self.key(code))
        return Thread.model_validate_json(raw) if raw else None

    async def many(self, codes: Iterable[str]) -> list[Thread]:
        """Threads of these codes in order, missing ones skipped (one pipelined trip)."""
        codes = list(codes)
        if not codes:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for code in codes:
                pipe.get(self.key(code))
            raws = await pipe.execute()
        return [Thread.model_validate_json(r) for r in raws if r]

    # ------------------------------------------------------------------ queues
    async def enqueue(self, unit: str, code: str, seq: int) -> None:
        """Put a thread in a unit's queue (idempotent)."""
        await self._redis.zadd(self._keys.tamtu_queue(unit), {code: seq})

    async def dequeue(self, unit: str, code: str) -> None:
        """Take a thread out of a unit's queue (idempotent)."""
        await self._redis.zrem(self._keys.tamtu_queue(unit), code)

    async def heads(self, units: list[str], limit: int) -> tuple[list[tuple[str, str, int]], int]:
        """The `limit` oldest entries over these queues as (unit, code, seq), and the total
        waiting. First each queue's oldest entry and length (small answers, one round trip);
        then only the queues that can hold one of the `limit` oldest are read further: a
        queue whose oldest entry is younger than `limit` other queues' oldest cannot."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for unit in units:
                pipe.zrange(self._keys.tamtu_queue(unit), 0, 0, withscores=True)
                pipe.zcard(self._keys.tamtu_queue(unit))
            found = await pipe.execute()
        total = sum(int(n) for n in found[1::2])
        firsts = sorted((int(got[0][1]), unit)
                        for unit, got in zip(units, found[0::2], strict=True) if got)
        wanted = [unit for _seq, unit in firsts[:limit]]
        async with self._redis.pipeline(transaction=False) as pipe:
            for unit in wanted:
                pipe.zrange(self._keys.tamtu_queue(unit), 0, limit - 1, withscores=True)
            more = await pipe.execute()
        entries = [(unit, str(code), int(score))
                   for unit, got in zip(wanted, more, strict=True) for code, score in got]
        return sorted(entries, key=lambda e: e[2])[:limit], total

    # ------------------------------------------------------------------ the member's own
    async def mine_raw(self, tag: str) -> str | None:
        """The member's sealed list, as stored."""
        raw = await self._redis.get(self._keys.tamtu_mine(tag))
        return str(raw) if raw else None

    def mine_key(self, tag: str) -> str:
        """Where a member's sealed list lives (its seal is bound to this key)."""
        return self._keys.tamtu_mine(tag)

    async def swap_mine(self, tag: str, before: str | None, after: str) -> bool:
        """Replace the sealed list if it is still `before` (two accounts of one member may
        add at once); False when it changed meanwhile."""
        key = self._keys.tamtu_mine(tag)
        async with self._redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(key)
                current = await pipe.get(key)
                if (str(current) if current else None) != before:
                    return False
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(key, after)
                await pipe.execute()
            except WatchError:
                return False
        return True

    async def take_quota(self, tag: str, limit: int) -> bool:
        """Count one new thread on the day's tag; False once `limit` is reached."""
        key = self._keys.tamtu_quota(tag)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, QUOTA_TTL)
            count, _ = await pipe.execute()
        if int(count) > limit:
            await self._redis.decr(key)  # a refused attempt does not use up tomorrow's room
            return False
        return True

    async def give_back_quota(self, tag: str) -> None:
        """Undo `take_quota` when the thread could not be stored."""
        await self._redis.decr(self._keys.tamtu_quota(tag))

    # ------------------------------------------------------------------ report counters
    async def count(self, month: str, fields: dict[str, int]) -> None:
        """Add to a month's counters."""
        if not fields:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for name, delta in fields.items():
                pipe.hincrby(self._keys.tamtu_stats(month), name, delta)
            await pipe.execute()

    async def counters(self, month: str) -> dict[str, int]:
        """Every counter of a month."""
        raw = await self._redis.hgetall(self._keys.tamtu_stats(month))
        return {str(k): int(v) for k, v in raw.items()}

    async def rolled_up(self, month: str, groups: dict[str, str]) -> dict[str, int]:
        """A month's counters summed on the server (one key, one script), for the units of
        `groups` (unit -> its report row): `t|<topic>|<a/n>|<metric>` by topic and
        `u|<row>|<a/n>|<metric>` by unit. The answer stays small however many units and
        topics the month has, which is what keeps a Khối's report fast."""
        flat = [x for pair in groups.items() for x in pair]
        raw = await self._rollup(keys=[self._keys.tamtu_stats(month)], args=flat)
        return {str(raw[i]): int(raw[i + 1]) for i in range(0, len(raw), 2)}
