"""Tổng quan: the units in scope with their members, open surveys, waiting proposals, and the
viewer's last broadcasts."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.org.access import STAFF
from bot.org.models import Role
from bot.proposals.reviewing import review_units
from bot.web.server import Viewer, page, render


@dataclass(frozen=True)
class UnitLine:
    """One unit in scope: name, depth under its scope root, members of its subtree."""

    id: str
    name: str
    depth: int
    members: int


async def unit_lines(viewer: Viewer, roots: list[str], depth_limit: int = 2) -> list[UnitLine]:
    """The top units in scope and two levels below, with subtree member counts."""
    tree, deps = viewer.tree, viewer.deps
    every = [u for root in roots for u in tree.subtree(root)]
    async with deps.redis.pipeline(transaction=False) as pipe:
        for unit in every:
            pipe.scard(deps.keys.unit_members(unit))
        sizes = dict(zip(every, (int(n) for n in await pipe.execute()), strict=True))
    lines = []
    for root in roots:
        base = len(tree.ancestors(root))
        for unit in tree.subtree(root):
            depth = len(tree.ancestors(unit)) - base
            if depth <= depth_limit:
                total = sum(sizes.get(u, 0) for u in tree.subtree(unit))
                lines.append(UnitLine(unit, tree.units[unit].name, depth, total))
    return lines


def staff_roots(viewer: Viewer) -> list[str]:
    """Top units where the viewer holds any staff role."""
    roots = [r for role in STAFF for r in viewer.scopes(role)]
    return [r for r in dict.fromkeys(roots)
            if not any(o != r and viewer.tree.within(r, o) for o in roots)]


@page
async def overview(request: web.Request, viewer: Viewer) -> web.Response:
    """The dashboard's home page."""
    deps, tree = viewer.deps, viewer.tree
    roots = staff_roots(viewer)
    units = await unit_lines(viewer, roots)
    now = deps.clock()
    surveys = []
    if viewer.scopes(Role.CADRE):
        for survey_id in await deps.surveys.recent_ids(50):
            survey = await deps.surveys.get(survey_id)
            if survey and survey.is_open(now) and viewer.can(Role.CADRE, survey.unit):
                surveys.append(survey)
    queues = await deps.proposals.queue.stats(
        review_units(viewer.member, deps.proposals.levels, tree))
    broadcasts = await deps.broadcasts.by_author(viewer.member.id, limit=5)
    return render(request, "overview.html", viewer, units=units, surveys=surveys,
                  queues=[q for q in queues if q.length], names=tree.units,
                  broadcasts=broadcasts)
