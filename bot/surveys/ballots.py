"""Anonymous answers are counted k at a time, never one by one.

A submitted anonymous answer set is sealed (AES-GCM, key from the deployment secret) and put in
its recording unit's pending list, in the same script that adds the member's mark to the done
set. Only when the list holds k answer sets are they opened, summed and added to the tally in
one step. So every stored counter of a recording unit moves in steps of at least k answers:
the store never holds a counter that one answer changed on its own (so no "n|unit = 1" to join
with who was reminded), the append-only file never shows one person's choices being counted
right after their message, and two copies of the store taken at different times differ by at
least k answers per unit.

At closing, after the marks are gone, what is left (fewer than k in a unit) joins its unit's
counters if those already hold k or more, else all such rests are counted in one step under
the survey's own unit, where the results' suppression keeps them inside the total.

The same step adds the counts to the rolled-up row of every unit from the one counted under up
to the survey's unit (bot.surveys.rows), so those rows move k at a time too.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import Counter
from collections.abc import Sequence

from redis.asyncio import Redis

from bot.privacy.seal import Sealer
from bot.storage.keys import Keys
from bot.surveys.rows import Rows

BALLOT_SEAL = "survey-ballot"  # sealing purpose of pending answer sets

# KEYS: aud, done, pending. ARGV: mark, recording unit, sealed answer set.
# Returns {-1, 0} not in audience, {0, 0} already answered, {1, pending length} recorded.
_CAST = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return {-1, 0} end
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return {0, 0} end
return {1, redis.call('RPUSH', KEYS[3], ARGV[3])}
"""

# KEYS: tally, texts, then m pending lists, then the rows of the unit counted under and of its
# ancestors up to the survey's unit, then the children hashes of those ancestors (none for a
# survey opened before rows existed). ARGV: unit
# counted under, m, then per list (count, sha1 of its first `count` entries joined by
# newlines), then the number of fields, pairs (field, amount), then pairs (score,
# "nonce\31text"). Checks every list still starts with what was summed (another process may
# have counted it meanwhile), then counts in one step.
_COUNT = """
local m = tonumber(ARGV[2])
local total = 0
for i = 1, m do
  local count = tonumber(ARGV[1 + 2 * i])
  local head = redis.call('LRANGE', KEYS[2 + i], 0, count - 1)
  if #head ~= count or redis.sha1hex(table.concat(head, '\\n')) ~= ARGV[2 + 2 * i] then
    return 0
  end
  total = total + count
end
for i = 1, m do redis.call('LTRIM', KEYS[2 + i], tonumber(ARGV[1 + 2 * i]), -1) end
local unit = ARGV[1]
if #KEYS > 2 + m and string.sub(KEYS[3 + m], -(#unit + 5)) ~= ':row:' .. unit then
  return redis.error_reply('rows of another unit')
end
redis.call('HINCRBY', KEYS[1], 'n|' .. unit, total)
local at = 3 + 2 * m
local n = tonumber(ARGV[at])
for i = at + 1, at + 2 * n, 2 do
  redis.call('HINCRBY', KEYS[1], unit .. '|' .. ARGV[i], tonumber(ARGV[i + 1]))
end
local last = 2 + m + math.floor((#KEYS - m - 1) / 2)  -- the last row; children hashes follow
for r = 3 + m, last do
  redis.call('HINCRBY', KEYS[r], 'n', total)
  for i = at + 1, at + 2 * n, 2 do
    redis.call('HINCRBY', KEYS[r], ARGV[i], tonumber(ARGV[i + 1]))
  end
end
for r = last + 1, #KEYS do
  redis.call('HINCRBY', KEYS[r], 'n|' .. string.match(KEYS[r - last + 2 + m], ':row:(.+)$'),
             total)
  redis.call('HINCRBY', KEYS[r], 'v', 1)
end
for i = at + 1 + 2 * n, #ARGV, 2 do
  redis.call('ZADD', KEYS[2], ARGV[i], unit .. '\\31' .. ARGV[i + 1])
end
return 1
"""

NOT_IN_AUDIENCE, ALREADY, RECORDED = -1, 0, 1


class Ballots:
    """Casting anonymous answer sets and counting them k at a time."""

    def __init__(self, redis: Redis, keys: Keys, sealer: Sealer, k: int, rows: Rows) -> None:
        self._redis = redis
        self._keys = keys
        self._rows = rows
        self._sealer = sealer
        self._k = k
        self._cast = redis.register_script(_CAST)
        self._count = redis.register_script(_COUNT)

    async def cast(self, survey_id: str, mark: str, chain: Sequence[str], unit: str,
                   fields: Sequence[str], texts: Sequence[tuple[int, str]]) -> int:
        """Mark the member as answered and queue their sealed answer set, atomically; count
        the unit's queue when it reaches k (into the rows of `chain`, the unit and those
        above it). NOT_IN_AUDIENCE, ALREADY or RECORDED."""
        k = self._keys
        pending = k.survey_pending(survey_id, unit)
        sealed = self._sealer.seal_text(BALLOT_SEAL, json.dumps(
            {"f": list(fields), "t": [list(t) for t in texts]}), survey_id)
        code, size = await self._cast(
            keys=[k.survey_audience(survey_id), k.survey_done(survey_id), pending],
            args=[mark, unit, sealed])
        # A count that lost a race to another one is tried again while k are waiting.
        while int(code) == RECORDED and int(size) >= self._k and not await self.count(
                survey_id, [unit], into=unit, chain=chain, at_least=self._k):
            size = await self._redis.llen(pending)
        return int(code)

    async def count(self, survey_id: str, units: Sequence[str], *, into: str,
                    chain: Sequence[str], at_least: int) -> bool:
        """Open, sum and count the pending answer sets of `units` under `into` (and into the
        rows of `chain`: `into` and the units above it), in one step, if there are at least
        `at_least` of them; True when counted."""
        lists = [self._keys.survey_pending(survey_id, u) for u in units]
        heads = [[str(e) for e in await self._redis.lrange(key, 0, -1)] for key in lists]
        total = sum(len(h) for h in heads)
        if total == 0 or total < at_least:
            return False
        fields: Counter[str] = Counter()
        texts: list[tuple[int, str]] = []
        for entry in (e for head in heads for e in head):
            ballot = json.loads(self._sealer.open_text(BALLOT_SEAL, entry, survey_id))
            fields.update(ballot["f"])
            texts += [(int(q), str(t)) for q, t in ballot["t"]]
        args: list[str | int | float] = [into, len(lists)]
        for head in heads:
            args += [len(head), hashlib.sha1("\n".join(head).encode()).hexdigest()]  # noqa: S324 - a change check, not security
        args.append(len(fields))
        for name, amount in sorted(fields.items()):
            args += [name, amount]
        for question, text in sorted(texts, key=lambda _t: secrets.randbits(32)):
            # A random score within the question's band: listing order reveals nothing.
            args += [question + secrets.randbelow(10**9) / 10**9 * 0.99,
                     f"{secrets.token_hex(6)}\x1f{text}"]
        k = self._keys
        return bool(await self._count(keys=[k.survey_tally(survey_id), k.survey_texts(survey_id),
                                            *lists, *self._rows.keys_of(survey_id, chain)],
                                      args=args))

    async def settle(self, survey_id: str, root: str, units: Sequence[str]) -> None:
        """At closing (marks already gone): a unit's leftovers join its own counters when
        those hold k or more answers (or the leftovers are k themselves, after a crash);
        the rest are counted together under the survey's unit."""
        waiting = await self._waiting(survey_id, units)
        if not waiting:
            return
        tally = self._keys.survey_tally(survey_id)
        counted = await self._redis.hmget(tally, [f"n|{u}" for u in waiting])
        chains = await self._rows.chains(survey_id, [*waiting, root])
        for unit, n in zip(waiting, counted, strict=True):
            await self.count(survey_id, [unit], into=unit, chain=chains[unit],
                             at_least=1 if int(n or 0) >= self._k else self._k)
        await self.count(survey_id, waiting, into=root, chain=chains[root], at_least=1)

    async def _waiting(self, survey_id: str, units: Sequence[str]) -> list[str]:
        """The units whose pending list is not empty (one round trip for all of them)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for unit in units:
                pipe.llen(self._keys.survey_pending(survey_id, unit))
            sizes = await pipe.execute()
        return [u for u, size in zip(units, sizes, strict=True) if size]
