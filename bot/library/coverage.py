"""Who has studied a document, per unit, computed from Redis sets and counters.

The report never loads members: the denominator of every unit is SCARD of its member set, the
numerator is the unit's counter in the document's ack hash (moved atomically with the ack), so a
Khối of 11,000 members costs one pipelined round trip. The "not yet" list counts the same way
and reads the ids of only the units its page falls in, so its first page costs the same at
110,000 members as at 11,000 (per unit counts aside); only a reminder reads every id. With the
process's `CoverageCounts` (bot.library.rollup) a report takes every child's figures from
subtree sums kept while no one joined and nothing was acknowledged: two counts per report.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from bot.library.audience import member_ids, reach
from bot.library.rollup import CoverageCounts, figures
from bot.org.models import Member
from bot.org.tree import OrgTree
from bot.org.unit_sizes import UnitSizes
from bot.storage.keys import Keys

CHUNK = 1000  # SMISMEMBER arguments per call


@dataclass(frozen=True)
class Row:
    """One line of the report."""

    unit_id: str
    members: int
    acked: int

    @property
    def percent(self) -> int:
        """Share who acknowledged, rounded down (0 when there is nobody)."""
        return self.acked * 100 // self.members if self.members else 0


@dataclass(frozen=True)
class Report:
    """Coverage of one document under one unit: the total, each child, and the unit itself."""

    unit_id: str
    total: Row
    children: list[Row]
    direct: Row  # members whose home unit is the unit itself


async def coverage(redis: Redis, keys: Keys, tree: OrgTree, doc_id: str, unit_id: str,
                   audience: str | None, sizes: UnitSizes | None = None) -> Report:
    """Acknowledged / members for `unit_id` and each of its children (unit sizes from
    `sizes`, the process's counts, when given; subtree sums kept by it, when it keeps them)."""
    if isinstance(sizes, CoverageCounts) and unit_id in tree.units:
        members, acks = await sizes.sums(tree, doc_id)
        if unit_id in members.subtree:  # else a unit no root reaches: count it the long way
            found = figures(tree, unit_id, audience, members, acks)
            rows = [Row(c, n, a) for c, n, a in found.children if n]
            direct = Row(unit_id, *found.direct)
            return Report(unit_id, Row(unit_id, sum(r.members for r in rows) + direct.members,
                                       sum(r.acked for r in rows) + direct.acked),
                          rows, direct)
    units = reach(tree, audience, unit_id)
    counted, acked = await _counts(redis, keys, doc_id, units, sizes)
    return _report(tree, unit_id, units, dict(zip(units, counted, strict=True)),
                   dict(zip(units, acked, strict=True)))


def _report(tree: OrgTree, unit_id: str, units: list[str], sizes: dict[str, int],
            acks: dict[str, int], branch: dict[str, str] | None = None) -> Report:
    """Sum members and acknowledgements of `units` into the unit's children and itself
    (`branch`: each unit's child of `unit_id`, when the caller already has it)."""
    totals: dict[str, list[int]] = {c: [0, 0] for c in tree.children.get(unit_id, ())}
    direct = [0, 0]
    for unit in units:
        child = unit if branch is None or unit not in branch else branch[unit]
        bucket = direct if unit == unit_id else totals[
            child if branch is not None else _child(tree, unit, unit_id)]
        bucket[0] += sizes[unit]
        bucket[1] += acks.get(unit, 0)
    rows = [Row(c, *totals[c]) for c in tree.children.get(unit_id, ()) if totals[c][0]]
    everyone = Row(unit_id, sum(r.members for r in rows) + direct[0],
                   sum(r.acked for r in rows) + direct[1])
    return Report(unit_id, everyone, rows, Row(unit_id, *direct))


async def not_acknowledged(redis: Redis, keys: Keys, tree: OrgTree, doc_id: str, unit_id: str,
                           audience: str | None) -> list[str]:
    """Member ids under `unit_id` (in the audience) who have not acknowledged, unit by unit."""
    return await _missing(redis, keys, doc_id, reach(tree, audience, unit_id))


@dataclass(frozen=True)
class Waiting:
    """One page of the "not yet" list: who, and how many in all."""

    total: int
    page: int
    pages: int
    ids: list[str]


async def not_acknowledged_page(redis: Redis, keys: Keys, tree: OrgTree, doc_id: str,
                                unit_id: str, audience: str | None, page: int, size: int,
                                sizes: UnitSizes | None = None) -> Waiting:
    """Page `page` (clamped) of `not_acknowledged`, in the same order, reading the member
    ids of only the units the page falls in."""
    units = reach(tree, audience, unit_id)
    counted, acked = await _counts(redis, keys, doc_id, units, sizes)
    counts = [max(0, n - a) for n, a in zip(counted, acked, strict=True)]
    total = sum(counts)
    pages = max(1, -(-total // size))
    page = min(max(page, 0), pages - 1)
    start, offset, skip = page * size, 0, 0
    chosen: list[str] = []
    for unit, count in zip(units, counts, strict=True):
        end = offset + count
        if count and end > start:
            skip = skip if chosen else start - offset
            chosen.append(unit)
            if end >= start + size:
                break
        offset = end
    ids = await _missing(redis, keys, doc_id, chosen)
    return Waiting(total, page, pages, ids[skip:skip + size])


async def _counts(redis: Redis, keys: Keys, doc_id: str, units: list[str],
                  sizes: UnitSizes | None) -> tuple[list[int], list[int]]:
    """Home members of each unit, and how many of them acknowledged (its counter)."""
    if not units:
        return [], []
    if sizes is not None:
        counted = await sizes.of(units)
        acked = await redis.hmget(keys.document_ack_units(doc_id), units)
    else:
        async with redis.pipeline(transaction=False) as pipe:
            for unit in units:
                pipe.scard(keys.unit_members(unit))
            pipe.hmget(keys.document_ack_units(doc_id), units)
            *scards, acked = await pipe.execute()
        counted = [int(n) for n in scards]
    return counted, [int(a or 0) for a in acked]


async def _missing(redis: Redis, keys: Keys, doc_id: str, units: list[str]) -> list[str]:
    """Home members of `units` (in order) who have not acknowledged."""
    ids = [m for members in await member_ids(redis, keys, units) for m in members]
    missing: list[str] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        flags = await redis.smismember(keys.document_acks(doc_id), chunk)
        missing.extend(m for m, flag in zip(chunk, flags, strict=True) if not flag)
    return missing


async def members_by_id(redis: Redis, keys: Keys, ids: list[str]) -> list[Member]:
    """The members behind a page of ids (one pipelined GET each), in the same order."""
    async with redis.pipeline(transaction=False) as pipe:
        for member_id in ids:
            pipe.get(keys.member(member_id))
        found = await pipe.execute()
    return [Member.model_validate_json(raw) for raw in found if raw]


def _child(tree: OrgTree, unit: str, root: str) -> str:
    """The child of `root` on the way down to `unit`."""
    chain = tree.ancestors(unit)
    return chain[chain.index(root) - 1]


async def coverage_many(redis: Redis, keys: Keys, tree: OrgTree, docs: list[tuple[str, str | None]],
                        unit_id: str, known: UnitSizes | None = None) -> list[Report]:
    """`coverage` of several documents (id, audience) under one unit in one round trip: the
    member counts of the subtree are read once for all of them (the dashboard's heat table),
    or taken from `known`, the process's unit sizes."""
    if isinstance(known, CoverageCounts):  # kept sums: a version check per document
        return [await coverage(redis, keys, tree, doc_id, unit_id, audience, known)
                for doc_id, audience in docs]
    units = tree.subtree(unit_id)
    counted = await known.of(units) if known is not None else None
    async with redis.pipeline(transaction=False) as pipe:
        for unit in units if counted is None else ():
            pipe.scard(keys.unit_members(unit))
        for doc_id, _audience in docs:
            pipe.hmget(keys.document_ack_units(doc_id), units)
        replies = await pipe.execute() if docs or counted is None else []
    if counted is None:
        counted, replies = [int(n) for n in replies[:len(units)]], replies[len(units):]
    sizes = dict(zip(units, counted, strict=True))
    branch = {u: _child(tree, u, unit_id) for u in units if u != unit_id}
    reports = []
    for (_doc_id, audience), acked in zip(docs, replies, strict=True):
        reached = set(reach(tree, audience, unit_id))
        acks = {u: int(n or 0) for u, n in zip(units, acked, strict=True) if u in reached}
        reports.append(_report(tree, unit_id, [u for u in units if u in reached], sizes, acks,
                               branch))
    return reports
