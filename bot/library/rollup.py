"""Coverage counts rolled up to every unit, kept per process while nothing has changed.

A coverage report shows a unit's children; each child's figures are those of its whole
subtree. Summing thousands of units' counters on every report makes the report grow with the
province, so each process keeps, per unit, its subtree's home members (re-counted after a join,
like `UnitSizes`) and, per document, its subtree's acknowledgements (re-read after an ack).
Both only ever grow — members join, acknowledgements are added, neither is taken back — so the
number of members and the number of acknowledgements are versions: one ZCARD and one SCARD,
in one round trip, tell whether the kept sums still hold; the tree snapshot is replaced
whenever the units change, so sums are kept for one snapshot only. A report then reads
nothing else and touches only the unit's children.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from bot.org.tree import OrgTree
from bot.org.unit_sizes import UnitSizes
from bot.storage.keys import Keys


@dataclass
class _Sums:
    """Per unit: home count and subtree count, valid for one tree and one version."""

    tree: OrgTree
    version: int
    home: dict[str, int]
    subtree: dict[str, int]


def upward(tree: OrgTree) -> list[tuple[str, str | None]]:
    """(unit, parent) of every unit reachable from a root, children before their parent."""
    order = [u for root in tree.roots() for u in tree.subtree(root)]
    return [(u, tree.units[u].parent) for u in reversed(order)]


def rolled(steps: list[tuple[str, str | None]], home: dict[str, int]) -> dict[str, int]:
    """Unit -> the sum of `home` over its subtree (`steps`: `upward` of the tree)."""
    sums = dict.fromkeys((u for u, _ in steps), 0)
    sums.update((u, n) for u, n in home.items() if u in sums)
    for unit, parent in steps:
        if parent is not None and parent in sums:
            sums[parent] += sums[unit]
    return sums


class CoverageCounts(UnitSizes):
    """`UnitSizes`, plus subtree sums of members and of each document's acknowledgements."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        super().__init__(redis, keys)
        self._members: _Sums | None = None
        self._acks: dict[str, _Sums] = {}
        self._steps: tuple[OrgTree, list[tuple[str, str | None]]] | None = None

    async def sums(self, tree: OrgTree, doc_id: str) -> tuple[_Sums, _Sums]:
        """(members, acknowledgements of `doc_id`) per unit and per subtree, current."""
        k = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(k.members_all())
            pipe.scard(k.document_acks(doc_id))
            members, acks = map(int, await pipe.execute())
        if self._steps is None or self._steps[0] is not tree:
            self._steps = (tree, upward(tree))
        steps = self._steps[1]
        kept = self._members
        if kept is None or kept.tree is not tree or kept.version != members:
            units = list(tree.units)
            home = dict(zip(units, await self.of(units), strict=True))
            kept = self._members = _Sums(tree, members, home, rolled(steps, home))
        ack = self._acks.get(doc_id)
        if ack is None or ack.tree is not tree or ack.version != acks:
            found = await self._redis.hgetall(k.document_ack_units(doc_id))
            home = {str(u): int(n) for u, n in found.items() if u in tree.units}
            ack = self._acks[doc_id] = _Sums(tree, acks, home, rolled(steps, home))
        return kept, ack


@dataclass(frozen=True)
class Figures:
    """(members, acknowledged) of each child of a unit and of the unit's own members."""

    children: list[tuple[str, int, int]]
    direct: tuple[int, int]


def figures(tree: OrgTree, unit_id: str, audience: str | None, members: _Sums,
            acks: _Sums) -> Figures:
    """Each child's subtree figures, limited to the audience's subtree: a child inside it
    counts whole, a child the audience lies under counts the audience's subtree, any other
    child nothing."""
    rows: list[tuple[str, int, int]] = []
    for child in tree.children.get(unit_id, ()):
        if audience is None or tree.within(child, audience):
            rows.append((child, members.subtree.get(child, 0), acks.subtree.get(child, 0)))
        elif tree.within(audience, child):
            rows.append((child, members.subtree.get(audience, 0),
                         acks.subtree.get(audience, 0)))
    inside = audience is None or tree.within(unit_id, audience)
    direct = ((members.home.get(unit_id, 0), acks.home.get(unit_id, 0)) if inside else (0, 0))
    return Figures(rows, direct)
