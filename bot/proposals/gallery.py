"""Search the gallery of recognised models by field, unit (subtree) and words (with or
without diacritics). The gallery is small (recognised models only), so it is filtered here."""

from __future__ import annotations

from bot.formatting import fold
from bot.org.tree import OrgTree
from bot.proposals.models import Proposal


def search(models: list[Proposal], tree: OrgTree, *, area: str | None = None,
           unit: str | None = None, words: str = "") -> list[Proposal]:
    """Recognised models matching every given filter, in the order given."""
    wanted = fold(words).split()
    out: list[Proposal] = []
    for p in models:
        if area is not None and p.area != area:
            continue
        if unit is not None and not tree.within(p.unit, unit):
            continue
        if wanted:
            haystack = fold(" ".join((p.name, p.executor, p.method, p.results)))
            if not all(w in haystack for w in wanted):
                continue
        out.append(p)
    return out


def units_with_models(models: list[Proposal], tree: OrgTree) -> list[str]:
    """Grassroots units (first review level) that have recognised models, by name."""
    found = {p.route[0] for p in models if p.route and tree.get(p.route[0]) is not None}
    return sorted(found, key=lambda u: tree.units[u].name)
