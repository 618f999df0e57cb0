"""Which units review a proposal, level by level, from `DVBOT_PROPOSAL_LEVELS`.

A level names unit kinds; a proposal is reviewed at each level by the nearest unit of those
kinds at or above the unit where the model runs. Levels with no such unit are skipped, and
a unit that would review at two levels in a row reviews once: a chi bộ cơ sở directly under
the upper level is its own grassroots level (it is a tổ chức cơ sở đảng), then the upper level;
a model of the upper level itself goes straight to it.

A level is a named group (`co_so`, `khoi`, `chi_bo`), a unit kind of the units file, or several
kinds joined by `+` ("co_so,dang_bo_cqd_tinh+dang_bo_ubnd_tinh" for the 2025 structure, where
the two provincial đảng bộ replaced the Đảng bộ Khối).
"""

from __future__ import annotations

from bot.org.models import KIND_ID, UnitKind
from bot.org.tree import OrgTree
from bot.settings import SettingsError

NAMED: dict[str, frozenset[str]] = {
    "co_so": frozenset({UnitKind.DANG_BO_CO_SO.value, UnitKind.CHI_BO_CO_SO.value,
                        "dang_bo_xa"}),  # đảng bộ xã, phường, đặc khu are grassroots too
    # The level above the grassroots: the Đảng bộ Khối before 2025; since the 2025
    # reorganisation, Đảng bộ các cơ quan Đảng tỉnh and Đảng bộ Ủy ban nhân dân tỉnh (the kind
    # ids of content/examples/units-tinh-2025.yaml).
    "khoi": frozenset({UnitKind.KHOI.value, "dang_bo_cqd_tinh", "dang_bo_ubnd_tinh"}),
    "chi_bo": frozenset({UnitKind.CHI_BO.value}),
}


_WHERE = "Cấu hình sai: DVBOT_PROPOSAL_LEVELS —"


class BadLevels(SettingsError, ValueError):
    """DVBOT_PROPOSAL_LEVELS names something that is neither a level nor a unit kind."""


def parse_levels(spec: str) -> list[frozenset[str]]:
    """"co_so,khoi" -> the unit kinds of each level, lowest first."""
    levels: list[frozenset[str]] = []
    for raw in (part.strip() for part in spec.split(",")):
        kinds: set[str] = set()
        for name in (n.strip() for n in raw.split("+")):
            if name in NAMED:
                kinds |= NAMED[name]
            elif KIND_ID.match(name):
                kinds.add(name)  # a kind the units file declares
            else:
                raise BadLevels(f"{_WHERE} cấp thẩm định không hợp lệ: {raw!r}")
        levels.append(frozenset(kinds))
    if not levels:
        raise BadLevels(f"{_WHERE} cần ít nhất một cấp thẩm định")
    return levels


def route_of(tree: OrgTree, unit_id: str, levels: list[frozenset[str]]) -> list[str]:
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


def reviewing_units(tree: OrgTree, levels: list[frozenset[str]]) -> set[str]:
    """Every unit that has a review queue."""
    kinds = frozenset().union(*levels)
    found = {u.id for u in tree.units.values() if u.kind in kinds}
    return found | set(tree.roots())
