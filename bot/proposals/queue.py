"""Review queues: one Redis Stream per reviewing unit, read through the consumer group
"review" with the reviewer's member id as consumer.

An entry names a proposal (`p`) and the level (`l`) it waits at; the proposal itself (see
store.py) is the truth. The queue only hands entries out: XREADGROUP for new ones, XAUTOCLAIM
for claims left idle too long, XACK + XDEL when an entry is done (so the stream holds only
what still waits, and its length is the queue length). Handing out is one Lua script per
stream (take), and a read-only probe (peek) lets a reviewer over many streams pick one.

An entry also names the proposal's author (`a`): a reviewer is never handed their own
proposal. Take moves such an entry to the consumer PARKED, already idle, so the next other
reviewer takes it over at once, in its place in the stream; nothing is lost or reordered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.storage.keys import Keys

GROUP = "review"
PARKED = "-"  # holds entries passed over by their own author (member ids are numbers)
SKIPPED = "skipped"  # take's kind when only the reviewer's own proposals wait

# One claim-next probe of one stream, in one round trip (a single key: cluster-safe).
# KEYS: the stream. ARGV: group, consumer, idle ms, how many entries to look at at most, the
# consumer PARKED, then proposal codes to pass over as well (own ones queued without `a`).
# Returns {kind, id, fields} with kind "own" (an entry this consumer already holds), "stale"
# (taken over from a claim idle longer than idle ms: XAUTOCLAIM) or "new" (XREADGROUP ">"),
# {"skipped"} when only the consumer's own proposals wait, or nil when nothing waits for this
# consumer. The order is the service's rule: what the reviewer holds, then abandoned claims,
# then new entries. An entry of the consumer's own proposal is given to PARKED, idle for idle
# ms already, so any other reviewer's next take claims it as abandoned.
_TAKE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local group, consumer, limit = ARGV[1], ARGV[2], tonumber(ARGV[4])
local skip = {}
for i = 6, #ARGV do skip[ARGV[i]] = true end
local skipped = 0
local function passed(id, fields)
  local by, code
  for i = 1, #fields, 2 do
    if fields[i] == 'a' then by = fields[i + 1] end
    if fields[i] == 'p' then code = fields[i + 1] end
  end
  if by ~= consumer and not (code and skip[code]) then return false end
  redis.call('XCLAIM', KEYS[1], group, ARGV[5], 0, id, 'IDLE', ARGV[3])
  skipped = skipped + 1
  return true
end
for _ = 1, limit do
  local own = redis.call('XPENDING', KEYS[1], group, '-', '+', 1, consumer)
  if #own == 0 then break end
  local id = own[1][1]
  local found = redis.call('XRANGE', KEYS[1], id, id)
  if #found == 0 then
    redis.call('XACK', KEYS[1], group, id)  -- deleted meanwhile: nothing left to hold
  elseif not passed(id, found[1][2]) then
    return {'own', id, found[1][2]}
  end
end
local cursor = '0-0'
for _ = 1, limit do
  local r = redis.call('XAUTOCLAIM', KEYS[1], group, consumer, ARGV[3], cursor, 'COUNT', 1)
  local item = r[2][1]
  if item and item[2] and not passed(item[1], item[2]) then
    return {'stale', item[1], item[2]}
  end
  cursor = r[1]
  if cursor == '0-0' then break end
end
for _ = 1, limit do
  local new = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1,
                         'STREAMS', KEYS[1], '>')
  if not new then break end
  local item = new[1][2][1]
  if not passed(item[1], item[2]) then return {'new', item[1], item[2]} end
end
if skipped > 0 then return {'skipped'} end
return nil
"""

# What one stream could give a consumer, without changing anything (read only), so a reviewer
# over many streams (a Khối has dozens) asks all of them in one pipelined round trip and then
# takes from the right one only. KEYS: the stream. ARGV: group, consumer, idle ms.
# Returns 3 (holds an entry here), 2 (an abandoned claim), 1 (new entries) or 0.
_PEEK = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local group = ARGV[1]
if #redis.call('XPENDING', KEYS[1], group, '-', '+', 1, ARGV[2]) > 0 then return 3 end
if #redis.call('XPENDING', KEYS[1], group, 'IDLE', tonumber(ARGV[3]), '-', '+', 1) > 0
  then return 2 end
local pending = redis.call('XPENDING', KEYS[1], group)[1]
if redis.call('XLEN', KEYS[1]) > pending then return 1 end
return 0
"""


@dataclass(frozen=True)
class Entry:
    """One stream entry: which unit's queue, its id, the proposal and the level."""

    unit: str
    id: str
    code: str
    level: int
    queued: float  # epoch seconds when it was queued (the flow's clock)


@dataclass(frozen=True)
class QueueStats:
    """How much waits in one unit's queue, and since when."""

    unit: str
    length: int
    oldest: float | None  # epoch seconds of the oldest entry


class ReviewQueue:
    """Enqueue, claim, acknowledge and measure review entries."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._take = redis.register_script(_TAKE)
        self._peek = redis.register_script(_PEEK)

    async def take(self, unit: str, consumer: str, idle_ms: int, skip: Iterable[str] = ()
                   ) -> tuple[str, Entry | None] | None:
        """In one round trip: the entry this reviewer holds at a unit, else one idle longer
        than `idle_ms` (taken over), else a new one; with its kind ("own", "stale", "new").
        Entries of the reviewer's own proposals (and of the codes in `skip`) are left for
        others; (SKIPPED, None) when nothing else waits."""
        reply: Any = await self._take(keys=[self._keys.review_queue(unit)],
                                      args=[GROUP, consumer, idle_ms, 50, PARKED, *skip])
        if not reply:
            return None
        if reply[0] == SKIPPED:
            return SKIPPED, None
        kind, entry_id, flat = reply
        entry = _entry(unit, entry_id, dict(zip(flat[::2], flat[1::2], strict=True)))
        return (str(kind), entry) if entry is not None else None

    async def park(self, unit: str, entry_id: str, idle_ms: int) -> None:
        """Leave an entry to the other reviewers: it waits, claimable at once, in its place."""
        await self._redis.xclaim(self._keys.review_queue(unit), GROUP, PARKED, 0, [entry_id],
                                 idle=idle_ms)

    async def peek(self, units: list[str], consumer: str, idle_ms: int) -> list[int]:
        """For each unit (one pipelined round trip): 3 the reviewer holds an entry there,
        2 an abandoned claim waits, 1 new entries wait, 0 nothing."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for unit in units:
                await self._peek(keys=[self._keys.review_queue(unit)],
                                 args=[GROUP, consumer, idle_ms], client=pipe)
            return [int(n) for n in await pipe.execute()]

    async def add(self, unit: str, code: str, level: int, now: float, author: str) -> str:
        """Queue a proposal at a unit; returns the entry id."""
        key = self._keys.review_queue(unit)
        await self._ensure_group(key)
        entry = await self._redis.xadd(key, {"p": code, "l": level, "t": now, "a": author})
        return str(entry)

    async def done(self, unit: str, entry_id: str) -> None:
        """Acknowledge and delete an entry (idempotent)."""
        key = self._keys.review_queue(unit)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(key, GROUP, entry_id)
            pipe.xdel(key, entry_id)
            await pipe.execute()

    async def stats(self, units: list[str]) -> list[QueueStats]:
        """Length and oldest entry of each unit's queue."""
        # One pipelined round trip for every queue (a Khối reviewer reads ~85 of them).
        async with self._redis.pipeline(transaction=False) as pipe:
            for unit in units:
                key = self._keys.review_queue(unit)
                pipe.xlen(key)
                pipe.xrange(key, "-", "+", count=1)
            replies = await pipe.execute()
        out: list[QueueStats] = []
        for n, unit in enumerate(units):
            length, first = replies[2 * n], replies[2 * n + 1]
            oldest = float(first[0][1].get("t", 0)) if first else None
            out.append(QueueStats(unit, int(length), oldest))
        return out

    async def _ensure_group(self, key: str) -> None:
        try:
            await self._redis.xgroup_create(key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


def _entry(unit: str, entry_id: object, fields: Any) -> Entry | None:
    """Parse a stream entry; a deleted one (XAUTOCLAIM returns it as None) is skipped."""
    if not fields or "p" not in fields:
        return None
    try:
        return Entry(unit, str(entry_id), fields["p"], int(fields.get("l", 0)),
                     float(fields.get("t", 0)))
    except ValueError:
        return None
