"""Which cấp ủy each level means for a member: their chi bộ, their cơ sở, the top unit."""

from __future__ import annotations

from bot.org.models import Member, UnitKind
from bot.org.tree import OrgTree
from bot.tamtu.models import Level

CO_SO = frozenset({UnitKind.DANG_BO_CO_SO, UnitKind.CHI_BO_CO_SO})


def targets(member: Member, tree: OrgTree) -> list[tuple[Level, str]]:
    """(level, unit) pairs the member may send to, lowest first, one per distinct unit."""
    chain = tree.ancestors(member.unit)
    if not chain:
        return []
    found: list[tuple[Level, str]] = [(Level.CHI_BO, chain[0])]
    co_so = next((u for u in chain if tree.units[u].kind in CO_SO), None)
    if co_so is not None:
        found.append((Level.CO_SO, co_so))
    found.append((Level.TOP, chain[-1]))
    out: list[tuple[Level, str]] = []
    for level, unit in found:
        if all(unit != seen for _l, seen in out):
            out.append((level, unit))
    return out
