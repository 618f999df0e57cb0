"""Which units review a proposal, level by level, from `DVBOT_PROPOSAL_LEVELS`.

A level names unit kinds; a proposal is reviewed at each level by the nearest unit of those
kinds at or above the unit where the model runs. Levels with no such unit are skipped, and
a unit that would review at two levels in a row reviews once: a chi bộ cơ sở directly under
the Khối is its own grassroots level (it is a tổ chức cơ sở đảng), then the Khối; a model of
the Khối itself goes straight to the Khối.
"""

from __future__ import annotations

from bot.org.models import UnitKind
from bot.org.tree import OrgTree
from bot.settings import SettingsError

NAMED: dict[str, frozenset[UnitKind]] = {
    "co_so": frozenset({UnitKind.DANG_BO_CO_SO, UnitKind.CHI_BO_CO_SO}),
    "khoi": frozenset({UnitKind.KHOI}),
    "chi_bo": frozenset({UnitKind.CHI_BO}),
}


_WHERE = "Cấu hình sai: DVBOT_PROPOSAL_LEVELS —"


class BadLevels(SettingsError, ValueError):
    """DVBOT_PROPOSAL_LEVELS names something that is neither a level nor a unit kind."""


def parse_levels(spec: str) -> list[frozenset[UnitKind]]:
    """"co_so,khoi" -> the unit kinds of each level, lowest first."""
    levels: list[frozenset[UnitKind]] = []
    for raw in (part.strip() for part in spec.split(",")):
        if raw in NAMED:
            levels.append(NAMED[raw])
        elif raw in {k.value for k in UnitKind}:
            levels.append(frozenset({UnitKind(raw)}))
        else:
            raise BadLevels(f"{_WHERE} cấp thẩm định không hợp lệ: {raw!r}")
    if not levels:
        raise BadLevels(f"{_WHERE} cần ít nhất một cấp thẩm định")
    return levels


def route_of(tree: OrgTree, unit_id: str, levels: list[frozenset[UnitKind]]) -> list[str]:
    """Reviewing units of a proposal from `unit_id`, lowest level first (never empty when the
    unit exists: without any matching unit the tree's root reviews)."""
    chain = tree.ancestors(unit_id)
    route: list[str] = []
    for kinds in levels:
        found = next((u for u in chain if tree.units[u].kind in kinds), None)
        if found is not None and found not in route and _above(chain, route, found):
            route.append(found)
    if not route and chain:
        route.append(chain[-1])
    return route


def _above(chain: list[str], route: list[str], unit: str) -> bool:
    """A higher level must sit above the previous one in the chain (never review downwards)."""
    return not route or chain.index(unit) > chain.index(route[-1])


def reviewing_units(tree: OrgTree, levels: list[frozenset[UnitKind]]) -> set[str]:
    """Every unit that has a review queue."""
    kinds = frozenset().union(*levels)
    found = {u.id for u in tree.units.values() if u.kind in kinds}
    return found | set(tree.roots())
