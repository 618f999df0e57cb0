"""Counters rolled up to every unit above the one an answer is counted under, when counted.

At opening a survey keeps a snapshot of its units (the shape): for each unit answers can be
counted under, the chain of units from it up to the survey's unit, and for each unit its
children that have an audience. Counting answers (bot.surveys.store for named surveys,
bot.surveys.ballots k at a time for anonymous ones) adds them, in the same script, to the row
of every unit on that chain. A results view then reads the survey unit's row and its
children's rows (and the rows of a second level when the chat shows one), never every
recording unit, and every row is the sum of its children's rows plus what was counted under
the unit itself: the figures `results.rollup` would compute from the tally.

The tally keeps its per-recording-unit counters: the settling at closing reads them, and
surveys opened before the rows existed (no shape) are still read from it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis

from bot.org.tree import OrgTree
from bot.storage.keys import Keys
from bot.surveys.results import Cell, Row

# KEYS: salt, aud, shape. ARGV: who (a mark or member id; '' for the salt alone).
# Returns {salt, recording unit, chain}, each false when absent.
_WHERE = """
local salt = redis.call('GET', KEYS[1])
if ARGV[1] == '' then return {salt, false, false} end
local unit = redis.call('HGET', KEYS[2], ARGV[1])
if not unit then return {salt, false, false} end
return {salt, unit, redis.call('HGET', KEYS[3], 'u|' .. unit)}
"""

# KEYS: shape, then one row per unit. ARGV: 'whole' or 'sizes', then those units, in order.
# Returns JSON: whether the first unit is in the shape (rows exist), then per unit [flat row
# (whole, or only audience and answers), its children].
_READ = """
local out = {redis.call('HEXISTS', KEYS[1], 'u|' .. ARGV[2])}
for i = 2, #KEYS do
  local row
  if ARGV[1] == 'whole' then
    row = redis.call('HGETALL', KEYS[i])
  else
    local a, n = unpack(redis.call('HMGET', KEYS[i], 'a', 'n'))
    row = {'a', a or '0', 'n', n or '0'}
  end
  out[i] = {row, redis.call('HGET', KEYS[1], 'c|' .. ARGV[i]) or ''}
end
return cjson.encode(out)
"""

# KEYS: shape, a unit's row, its children hash. ARGV: the unit, the children hash's version
# the caller holds. Returns JSON: whether the unit is in the shape (rows exist), its flat row,
# its children, the children hash's version, and the whole hash unless the caller's is current.
_TOP = """
local out = {redis.call('HEXISTS', KEYS[1], 'u|' .. ARGV[1]), redis.call('HGETALL', KEYS[2]),
             redis.call('HGET', KEYS[1], 'c|' .. ARGV[1]) or ''}
out[4] = redis.call('HGET', KEYS[3], 'v') or '0'
if out[4] ~= ARGV[2] then out[5] = redis.call('HGETALL', KEYS[3]) end
return cjson.encode(out)
"""

SETTLED = "settled"
KEPT = 64  # children hashes a process keeps parsed (the surveys being looked at)


@dataclass(frozen=True)
class Plan:
    """The chat's first level as one version of a children hash weighs out: the children
    with an audience, those shown, the shown in order, their rows, the shown ones' sizes."""

    tree: OrgTree
    children: list[str]
    shown: set[str]
    first: list[str]
    level: list[Row]
    sizes: dict[str, Cell]


@dataclass(frozen=True)
class Kids:
    """A unit's children as its children hash has them: audience and answers (a Cell
    without counts) and those that have children of their own."""

    sizes: dict[str, Cell]
    deep: set[str]
    # What the chat's first level makes of these sizes, per (answers of the parent, k): the
    # same children hash weighs out the same way, so it is weighed once per version.
    plans: dict[tuple[int, int], Plan] = field(default_factory=dict)


class Rows:
    """The shape snapshot and the rolled-up rows of surveys."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._where = redis.register_script(_WHERE)
        self._read = redis.register_script(_READ)
        self._top = redis.register_script(_TOP)
        self._kept: dict[str, tuple[str, Kids | None]] = {}

    def keys_of(self, survey_id: str, chain: Sequence[str]) -> list[str]:
        """The keys a count under `chain[0]` goes into: the row of every unit on the chain,
        then the children hash of every unit above the first (where the count is one of its
        children's answers)."""
        k = self._keys
        return [*(k.survey_row(survey_id, unit) for unit in chain),
                *(k.survey_kids(survey_id, unit) for unit in chain[1:])]

    async def top(self, survey_id: str, unit: str
                  ) -> tuple[bool, Cell, list[str], Kids | None]:
        """(rows exist, the unit's whole row, its children, each child's audience and answers)
        in one round trip (one script: a cluster client refuses scripts in a pipeline); the
        last is None for a survey opened before the children hashes existed (then each
        child's row must be read)."""
        k = self._keys
        key = k.survey_kids(survey_id, unit)
        held, parsed = self._kept.get(key, ("", None))
        exists, flat, children, version, *fresh = json.loads(await self._top(
            keys=[k.survey_shape(survey_id), k.survey_row(survey_id, unit), key],
            args=[unit, held]))
        listed = children.split(",") if children else []
        if fresh:  # changed since this process last read it
            pairs = fresh[0] if isinstance(fresh[0], list) else []
            kids = dict(zip(pairs[::2], pairs[1::2], strict=True))
            parsed = sizes_of(listed, kids) if kids else None
            self._kept.pop(key, None)
            while len(self._kept) >= KEPT:
                self._kept.pop(next(iter(self._kept)))
            self._kept[key] = (str(version), parsed)
        return (bool(exists), as_cell(flat if isinstance(flat, list) else []), listed, parsed)

    async def where(self, survey_id: str, who: str) -> tuple[str | None, str | None, list[str]]:
        """(salt, recording unit, chain) of a mark or member id in one round trip; an empty
        chain for a survey opened before the rows existed."""
        k = self._keys
        salt, unit, chain = await self._where(keys=[
            k.survey_salt(survey_id), k.survey_audience(survey_id), k.survey_shape(survey_id)],
            args=[who])
        return (str(salt) if salt else None, str(unit) if unit else None,
                str(chain).split(",") if chain else [])

    async def chains(self, survey_id: str, units: Sequence[str]) -> dict[str, list[str]]:
        """Unit -> its chain (empty for a survey without rows)."""
        if not units:
            return {}
        found = await self._redis.hmget(self._keys.survey_shape(survey_id),
                                        [f"u|{u}" for u in units])
        return {u: str(c).split(",") if c else [] for u, c in zip(units, found, strict=True)}

    async def read(self, survey_id: str, units: Sequence[str], *, whole: bool = True
                   ) -> tuple[bool, dict[str, Cell], dict[str, list[str]]]:
        """(rows exist, unit -> its row as a Cell, unit -> its children) of `units` only;
        not `whole`: audience and answers only."""
        if not units:
            raise ValueError("read at least one unit")
        k = self._keys
        raw = json.loads(await self._read(
            keys=[k.survey_shape(survey_id), *(k.survey_row(survey_id, u) for u in units)],
            args=["whole" if whole else "sizes", *units]))
        cells: dict[str, Cell] = {}
        kids: dict[str, list[str]] = {}
        for unit, (flat, children) in zip(units, raw[1:], strict=True):
            cells[unit] = as_cell(flat if isinstance(flat, list) else [])
            kids[unit] = children.split(",") if children else []
        return bool(raw[0]), cells, kids

    async def settled(self, survey_id: str) -> bool:
        """Whether closing already counted every waiting answer set."""
        return bool(await self._redis.hexists(self._keys.survey_shape(survey_id), SETTLED))

    async def mark_settled(self, survey_id: str) -> None:
        """Note that closing counted every waiting answer set (later views skip it)."""
        await self._redis.hset(self._keys.survey_shape(survey_id), SETTLED, "1")


def as_cell(flat: list[str]) -> Cell:
    """A row's flat HGETALL reply as a Cell."""
    cell = Cell()
    counts: Counter[str] = cell.counts
    for i in range(0, len(flat), 2):
        name, value = flat[i], int(flat[i + 1])
        if name == "a":
            cell.audience = value
        elif name == "n":
            cell.answers = value
        else:
            counts[name] = value
    return cell


def sizes_of(children: list[str], kids: dict[str, str]) -> Kids | None:
    """Each child's audience and answers from its parent's children hash, and which have
    children (None when a child is missing from it: the hash is older than the child)."""
    cells: dict[str, Cell] = {}
    for child in children:
        audience = kids.get(f"a|{child}")
        if audience is None:
            return None
        cells[child] = Cell(audience=int(audience), answers=int(kids.get(f"n|{child}", 0)))
    return Kids(cells, {c for c in children if f"d|{c}" in kids})


def kid_sizes(fields: dict[str, str], audience: dict[str, int]) -> dict[str, dict[str, int]]:
    """Parent -> the fields of its children hash set at opening: `a|<child>` audience,
    `d|<child>` for a child that has children of its own, and `v` the version (every count
    into the hash moves it)."""
    out: dict[str, dict[str, int]] = {}
    for name, listed in fields.items():
        if name.startswith("c|"):
            kids = listed.split(",")
            out[name[2:]] = {f"a|{c}": audience.get(c, 0) for c in kids}
            out[name[2:]].update({f"d|{c}": 1 for c in kids if f"c|{c}" in fields}, v=1)
    return out


def shape(tree: OrgTree, root: str, recording: Iterable[str], sizes: Counter[str]
          ) -> tuple[dict[str, str], dict[str, int]]:
    """The shape's fields and each unit's rolled-up audience, for the recording units of a
    survey opening now (`sizes`: audience per recording unit)."""
    chains: dict[str, list[str]] = {root: [root]}
    for unit in recording:
        chain = tree.ancestors(unit)
        chain = chain[:chain.index(root) + 1] if root in chain else [root]
        for i, up in enumerate(chain):
            chains.setdefault(up, chain[i:])
    audience: Counter[str] = Counter()
    for unit, size in sizes.items():
        for up in chains[unit]:
            audience[up] += size
    fields = {f"u|{u}": ",".join(chain) for u, chain in chains.items()}
    for parent in chains:
        kids = [c for c in tree.children.get(parent, ()) if c in chains and c != root]
        if kids:
            fields[f"c|{parent}"] = ",".join(kids)
    return fields, dict(audience)
