"""Tổng quan: the units in scope with their members, open surveys, waiting proposals, and the
viewer's last broadcasts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from bot.library.audience import member_ids
from bot.org.access import STAFF
from bot.org.models import Role
from bot.proposals.reviewing import review_units
from bot.web.server import Viewer, page, render
from bot.web.views.members import CHANNELS

BATCH = 2000  # member records per MGET
FIGURES_FOR = timedelta(minutes=5)


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


async def reach_by_channel(viewer: Viewer, roots: list[str]) -> dict[str, int]:
    """Members in scope reachable on each channel (a member may count on several); this reads
    every member record of the scope, so it is kept `FIGURES_FOR` per scope."""
    cache = viewer.dashboard.figures
    key = "reach|" + ",".join(sorted(roots))
    now = viewer.deps.clock()
    hit = cache.get(key)
    if hit is not None and now - hit[0] < FIGURES_FOR:
        return hit[1]
    counts = await _count_reach(viewer, roots)
    cache[key] = (now, counts)
    return counts


async def _count_reach(viewer: Viewer, roots: list[str]) -> dict[str, int]:
    deps, tree = viewer.deps, viewer.tree
    units = [u for root in roots for u in tree.subtree(root)]
    ids = [m for found in await member_ids(deps.redis, deps.keys, units) for m in found]
    counts: dict[str, int] = {}
    for start in range(0, len(ids), BATCH):
        raw = await deps.redis.mget([deps.keys.member(m) for m in ids[start:start + BATCH]])
        for record in raw:
            # Only the linked accounts are needed: plain JSON, not the whole model.
            for channel in json.loads(record).get("identities", {}) if record else ():
                counts[channel] = counts.get(channel, 0) + 1
    return counts


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
    reach = await reach_by_channel(viewer, roots)
    return render(request, "overview.html", viewer, units=units, surveys=surveys,
                  reach=[(CHANNELS.get(c, c), n) for c, n in sorted(reach.items())],
                  queues=[q for q in queues if q.length], names=tree.units,
                  broadcasts=broadcasts)
