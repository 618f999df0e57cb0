"""Surveys in Redis: open with an audience snapshot, record answers atomically, read tallies.

Recording an answer is one Lua script on one survey's keys (one hash tag): check the person is
in the snapshot, add their mark to the "done" set, and bump the tally counters (O(number of
answers), independent of how many have answered). For an anonymous survey nothing it writes
names the person: the mark is an HMAC (see bot.privacy.secret), the answer set waits sealed
until k of its recording unit can be counted together (bot.surveys.ballots), and free texts go
into a sorted set with random scores, without ids or timestamps.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from bot.org.tree import OrgTree
from bot.privacy.seal import Sealer
from bot.privacy.secret import mark, new_salt
from bot.storage.keys import Keys
from bot.surveys.ballots import Ballots
from bot.surveys.models import Answer, Spec, Survey
from bot.surveys.recording import answer_fields, recording_units
from bot.surveys.rows import Rows, kid_sizes, shape

# KEYS: aud, done, tally, texts, named, then the rows of the recording unit and of its
# ancestors up to the survey's unit, then the children hashes of those ancestors
# (bot.surveys.rows; none for a survey opened before rows existed). ARGV: who, mode (a:
# anonymous, n: named, c: named and changeable), answers JSON (named only), number of
# counter fields, fields..., then pairs of (score, "nonce\31text") for free texts. Returns -1
# not in audience, 0 already answered, 1 recorded, 2 replaced (named surveys that allow
# changes).
_RECORD = """
local unit = redis.call('HGET', KEYS[1], ARGV[1])
if not unit then return -1 end
if #KEYS > 5 and string.sub(KEYS[6], -(#unit + 5)) ~= ':row:' .. unit then
  return redis.error_reply('rows of another unit')
end
local last = 5 + math.floor((#KEYS - 4) / 2)  -- the last row; the children hashes follow
local function bump(field, by)
  redis.call('HINCRBY', KEYS[3], unit .. '|' .. field, by)
  for r = 6, last do redis.call('HINCRBY', KEYS[r], field, by) end
end
local mode = ARGV[2]
local fresh = redis.call('SADD', KEYS[2], ARGV[1]) == 1
if not fresh then
  if mode ~= 'c' then return 0 end
  local old = redis.call('HGET', KEYS[5], ARGV[1])
  if old then
    local prev = cjson.decode(old)
    for _, f in ipairs(prev.f) do bump(f, -1) end
    for _, t in ipairs(prev.t) do redis.call('ZREM', KEYS[4], t) end
  end
else
  redis.call('HINCRBY', KEYS[3], 'n|' .. unit, 1)
  for r = 6, last do redis.call('HINCRBY', KEYS[r], 'n', 1) end
  for r = last + 1, #KEYS do
    redis.call('HINCRBY', KEYS[r], 'n|' .. string.match(KEYS[r - last + 5], ':row:(.+)$'), 1)
    redis.call('HINCRBY', KEYS[r], 'v', 1)
  end
end
local n = tonumber(ARGV[4])
local fields, texts = {}, {}
for i = 5, 4 + n do
  bump(ARGV[i], 1)
  table.insert(fields, ARGV[i])
end
for i = 5 + n, #ARGV, 2 do
  local entry = unit .. '\\31' .. ARGV[i + 1]
  redis.call('ZADD', KEYS[4], ARGV[i], entry)
  table.insert(texts, entry)
end
if mode ~= 'a' then
  redis.call('HSET', KEYS[5], ARGV[1], cjson.encode({f = fields, t = texts, a = ARGV[3]}))
end
if fresh then return 1 end
return 2
"""

# KEYS: tally. The whole hash as one JSON string: thousands of fields (units × options) parse
# far faster as one bulk reply than as a RESP map read element by element.
_TALLY = "return cjson.encode(redis.call('HGETALL', KEYS[1]))"

NOT_IN_AUDIENCE, ALREADY, RECORDED, REPLACED = -1, 0, 1, 2
BATCH = 1000


@dataclass(frozen=True)
class TextAnswer:
    """One free-text answer: its question, the unit it was recorded under, the text."""

    question: int
    unit: str
    text: str


class SurveyStore:
    """Opening, answering, closing and reading surveys."""

    def __init__(self, redis: Redis, keys: Keys, secret: bytes, min_group: int) -> None:
        self._redis = redis
        self._keys = keys
        self._secret = secret
        self.min_group = min_group
        self.rows = Rows(redis, keys)
        self._ballots = Ballots(redis, keys, Sealer(secret), min_group, self.rows)
        self._record = redis.register_script(_RECORD)
        self._tally = redis.register_script(_TALLY)

    # ------------------------------------------------------------------ opening
    async def open(self, spec: Spec, *, unit: str, author_name: str,
                   tree: OrgTree, now: datetime, closes_at: datetime,
                   opens_at: datetime | None = None, author: str = "") -> Survey:
        """Store the survey and snapshot its audience (the unit's subtree right now), or, with
        a later `opens_at`, store it pending: `activate` takes the snapshot at that time."""
        survey_id = str(await self._redis.incr(self._keys.survey_seq()))
        pending = opens_at is not None and opens_at > now
        survey = Survey(**spec.model_dump(), id=survey_id, unit=unit, author_name=author_name,
                        opens_at=opens_at if pending and opens_at else now,
                        closes_at=closes_at, pending=pending)
        if not pending:
            return await self.activate(survey, tree, author=author)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.survey(survey_id), survey.model_dump_json())
            pipe.zadd(self._keys.surveys(), {survey_id: closes_at.timestamp()})
            await pipe.execute()
        return survey

    async def activate(self, survey: Survey, tree: OrgTree, *,
                       author: str | None = None) -> Survey:
        """Open a stored or new survey now: snapshot the audience (marks for an anonymous
        survey), the recording units and the salt. A survey already open is returned as is
        (the scheduler may fire an opening twice after a crash)."""
        stored = await self.get(survey.id)
        if stored is not None and not stored.pending:
            return stored
        unit = survey.unit
        homes = await self._homes(tree, unit)
        # The author is never in their own audience (as with announcements and directives).
        homes.pop(author if author is not None else await self.author_of(survey.id) or "", None)
        survey = survey.model_copy(update={"audience": len(homes), "pending": False})
        survey_id = survey.id
        where = recording_units(tree, unit, homes, self.min_group if survey.anonymous else 1)
        salt = new_salt()
        audience = {self.who(survey, salt, m): where[home] for m, home in homes.items()}
        sizes = Counter(audience.values())
        fields, rolled = shape(tree, unit, sizes, sizes)
        k = self._keys
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(k.survey(survey_id), survey.model_dump_json())
            pipe.set(k.survey_salt(survey_id), salt)
            items = list(audience.items())
            for start in range(0, len(items), BATCH):
                pipe.hset(k.survey_audience(survey_id), mapping=dict(items[start:start + BATCH]))
            if sizes:
                pipe.hset(k.survey_tally(survey_id),
                          mapping={f"a|{u}": n for u, n in sizes.items()})
            pipe.hset(k.survey_shape(survey_id), mapping={f: v for f, v in fields.items()})
            for up, n in rolled.items():
                pipe.hset(k.survey_row(survey_id, up), "a", n)
            for parent, kids in kid_sizes(fields, rolled).items():
                pipe.hset(k.survey_kids(survey_id, parent), mapping={f: n for f, n in kids.items()})
            await pipe.execute()
        # Listed only once fully stored (the list key has no {sv:<id>} tag, so it cannot join
        # the transaction on a cluster): a crash in between leaves an unlisted survey, never a
        # listed one without its audience.
        await self._redis.zadd(k.surveys(), {survey_id: survey.closes_at.timestamp()})
        return survey

    async def set_author(self, survey_id: str, member_id: str, ttl: int) -> None:
        """Who to tell when the survey closes. Kept apart from the survey's keys and deleted
        when that notice is sent; it names the author (as the audit log does), no answer."""
        await self._redis.set(self._keys.survey_author(survey_id), member_id, ex=ttl)

    async def author_of(self, survey_id: str) -> str | None:
        """The author, while the survey runs (None once the closing notice took it)."""
        raw = await self._redis.get(self._keys.survey_author(survey_id))
        return str(raw) if raw else None

    async def take_author(self, survey_id: str) -> str | None:
        """The author to notify at closing, once (GETDEL)."""
        raw = await self._redis.getdel(self._keys.survey_author(survey_id))
        return str(raw) if raw else None

    async def _homes(self, tree: OrgTree, unit: str) -> dict[str, str]:
        """Member id -> home unit for everyone in the subtree."""
        units = tree.subtree(unit)
        async with self._redis.pipeline(transaction=False) as pipe:
            for u in units:
                pipe.smembers(self._keys.unit_members(u))
            found = await pipe.execute()
        return {str(m): u for u, ids in zip(units, found, strict=True) for m in ids}

    async def audience_ids(self, tree: OrgTree, unit: str, *,
                           without: str | None = None) -> list[str]:
        """Member ids in the unit's subtree right now (for the preview and notifications),
        `without` the author."""
        return sorted((m for m in await self._homes(tree, unit) if m != without), key=int)

    def who(self, survey: Survey, salt: str, member_id: str) -> str:
        """What the audience and done sets hold for a member: a mark, or (named) the id."""
        return mark(self._secret, salt, member_id) if survey.anonymous else member_id

    # ------------------------------------------------------------------ reading
    async def get(self, survey_id: str) -> Survey | None:
        """The survey, or None."""
        if not survey_id.isdigit() or len(survey_id) > 12:
            return None
        raw = await self._redis.get(self._keys.survey(survey_id))
        return Survey.model_validate_json(raw) if raw else None

    async def ids_closing_after(self, moment: datetime, limit: int = 200) -> list[str]:
        """Ids of surveys still open at `moment`, soonest closing first."""
        found = await self._redis.zrangebyscore(self._keys.surveys(), f"({moment.timestamp()}",
                                                "+inf", start=0, num=limit)
        return [str(i) for i in found]

    async def recent_ids(self, limit: int = 200) -> list[str]:
        """Ids of the latest surveys (open or closed), latest closing first."""
        return [str(i) for i in await self._redis.zrevrange(self._keys.surveys(), 0, limit - 1)]

    async def tally(self, survey_id: str) -> dict[str, int]:
        """Every counter of the survey."""
        flat = json.loads(await self._tally(keys=[self._keys.survey_tally(survey_id)]))
        if not isinstance(flat, list):  # cjson encodes an empty table as {}
            return {}
        return {flat[i]: int(flat[i + 1]) for i in range(0, len(flat), 2)}

    async def texts(self, survey_id: str, question: int, limit: int | None = None
                    ) -> list[TextAnswer]:
        """Free-text answers of one question, in the random order they are stored in."""
        raw = await self._redis.zrangebyscore(
            self._keys.survey_texts(survey_id), question, f"({question + 1}",
            start=0 if limit is not None else None, num=limit)
        out = []
        for entry in raw:
            unit, _nonce, text = str(entry).split("\x1f", 2)
            out.append(TextAnswer(question, unit, text))
        return out

    async def text_count(self, survey_id: str, question: int) -> int:
        """How many free-text answers a question has."""
        return int(await self._redis.zcount(self._keys.survey_texts(survey_id), question,
                                            f"({question + 1}"))

    async def named_answers(self, survey_id: str) -> dict[str, list[Answer]]:
        """Member id -> answers of a named survey (empty for anonymous ones)."""
        raw = await self._redis.hgetall(self._keys.survey_named(survey_id))
        return {str(m): json.loads(json.loads(v)["a"]) for m, v in raw.items()}

    # ------------------------------------------------------------------ answering
    async def status(self, survey: Survey, member_id: str) -> int:
        """NOT_IN_AUDIENCE, ALREADY (answered) or RECORDED (may answer), without writing."""
        salt = await self._redis.get(self._keys.survey_salt(survey.id))
        if salt is None:
            return NOT_IN_AUDIENCE  # closed: the salt is gone
        who = self.who(survey, str(salt), member_id)
        if not await self._redis.hexists(self._keys.survey_audience(survey.id), who):
            return NOT_IN_AUDIENCE
        done = await self._redis.sismember(self._keys.survey_done(survey.id), who)
        return ALREADY if done else RECORDED

    async def record(self, survey: Survey, member_id: str,
                     answers: Sequence[Answer | None]) -> int:
        """Record one member's answers (already validated); see the script's return codes."""
        # Named surveys know `who` (the member id) before the salt: one round trip to learn
        # both and the rows the answer is rolled up into.
        salt, unit, chain = await self.rows.where(survey.id,
                                                  "" if survey.anonymous else member_id)
        if salt is None:
            return NOT_IN_AUDIENCE
        fields, texts = answer_fields(survey, answers)
        if survey.anonymous:
            return await self._cast(survey, self.who(survey, salt, member_id), fields, texts)
        if unit is None:
            return NOT_IN_AUDIENCE
        mode = "c" if survey.allow_change else "n"
        k = self._keys
        args: list[str | float] = [self.who(survey, salt, member_id), mode,
                                   "" if survey.anonymous else json.dumps(list(answers)),
                                   len(fields), *fields]
        for question, text in texts:
            # A random score within the question's band: listing order reveals nothing.
            score = question + secrets.randbelow(10**9) / 10**9 * 0.99
            args += [score, f"{secrets.token_hex(6)}\x1f{text}"]
        keys = [k.survey_audience(survey.id), k.survey_done(survey.id), k.survey_tally(survey.id),
                k.survey_texts(survey.id), k.survey_named(survey.id),
                *self.rows.keys_of(survey.id, chain)]
        return int(await self._record(keys=keys, args=args))

    # ------------------------------------------------------------------ closing
    async def close(self, survey: Survey, now: datetime) -> Survey:
        """Close now (if still open) and retire what could link people to marks."""
        if survey.closes_at > now:
            survey = survey.model_copy(update={"closes_at": now})
            # Two slots on a cluster, so two writes: the survey itself (what answering
            # checks) first; the list's score only orders "Khảo sát của tôi".
            await self._redis.set(self._keys.survey(survey.id), survey.model_dump_json())
            await self._redis.zadd(self._keys.surveys(), {survey.id: now.timestamp()})
        await self.retire(survey)
        return survey

    async def retire(self, survey: Survey) -> None:
        """After closing an anonymous survey, drop the salt, snapshot marks and done marks,
        then count the answer sets still waiting: only the aggregates remain, and nobody
        (with or without the secret) can tell who answered. Named surveys keep theirs (they
        name people by design)."""
        if not survey.anonymous or await self.rows.settled(survey.id):
            return  # every later view of a closed survey stops here, whatever its size
        k = self._keys
        await self._redis.delete(k.survey_salt(survey.id), k.survey_audience(survey.id),
                                 k.survey_done(survey.id))
        fields = map(str, await self._redis.hkeys(k.survey_tally(survey.id)))
        units = [f[2:] for f in fields if f.startswith("a|")]
        await self._ballots.settle(survey.id, survey.unit, units)
        await self.rows.mark_settled(survey.id)  # last: a crash before it settles again

    async def answered(self, survey: Survey) -> int:
        """How many have answered: counted answers, or, for an anonymous survey still open,
        its done marks (answer sets wait uncounted until k of a unit are in)."""
        if survey.anonymous and await self._redis.exists(self._keys.survey_salt(survey.id)):
            return int(await self._redis.scard(self._keys.survey_done(survey.id)))
        rolled, cells, _kids = await self.rows.read(survey.id, [survey.unit])
        if rolled:
            return cells[survey.unit].answers
        return sum(v for f, v in (await self.tally(survey.id)).items() if f.startswith("n|"))

    async def _cast(self, survey: Survey, who: str, fields: list[str],
                    texts: list[tuple[int, str]]) -> int:
        _salt, unit, chain = await self.rows.where(survey.id, who)
        if unit is None:
            return NOT_IN_AUDIENCE
        return await self._ballots.cast(survey.id, who, chain, unit, fields, texts)

    async def unanswered(self, survey: Survey, member_ids: Sequence[str]) -> list[str]:
        """Which of `member_ids` are in the snapshot and have not answered (for reminders)."""
        salt = await self._redis.get(self._keys.survey_salt(survey.id))
        if salt is None:
            return []
        whos = [self.who(survey, str(salt), m) for m in member_ids]
        k = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            for who in whos:
                pipe.hexists(k.survey_audience(survey.id), who)
                pipe.sismember(k.survey_done(survey.id), who)
            flags = await pipe.execute()
        return [m for i, m in enumerate(member_ids) if flags[2 * i] and not flags[2 * i + 1]]
