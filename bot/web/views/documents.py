"""Văn bản: coverage of every directive across the child units (a heat table), drill-down to a
unit, the paged list of who has not studied, and "Nhắc nhở" with the same one-per-hour rule as
the chat (bot.library.reminders)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.delivery.address import later_line
from bot.library import reminders
from bot.library.audience import reach
from bot.library.coverage import (
    Report,
    coverage,
    coverage_many,
    members_by_id,
    not_acknowledged_page,
)
from bot.library.models import Entry
from bot.library.notices import REMIND_WINDOW, clock_time
from bot.library.status import require_current
from bot.org import access
from bot.org.models import Role
from bot.web.server import Viewer, page, page_number, redirect, render

PAGE = 20
NOT_YOURS = "Văn bản này không dành cho đơn vị nào trong phạm vi của đồng chí."


@dataclass(frozen=True)
class Column:
    """One directive of the heat table and its coverage under the unit shown."""

    entry: Entry
    report: Report

    def cell(self, unit_id: str) -> int | None:
        """% of `unit_id` (a child of the unit shown), None when it has no members."""
        row = next((r for r in self.report.children if r.unit_id == unit_id), None)
        return row.percent if row else None


def _unit(request: web.Request, viewer: Viewer) -> str:
    roots = viewer.scopes(Role.CADRE)
    if not roots:
        raise access.Forbidden("Chức năng này dành cho đồng chí được phân công phụ trách đơn vị.")
    unit_id = request.query.get("don-vi", roots[0])
    viewer.require(Role.CADRE, unit_id)
    return unit_id


async def _doc_and_unit(request: web.Request, viewer: Viewer) -> tuple[Entry, str]:
    """The directive and unit of the path, once the viewer's cadre scope covers the unit."""
    unit_id = request.match_info["unit"]
    viewer.require(Role.CADRE, unit_id)
    return await _entry(viewer, request.match_info["doc"], unit_id), unit_id


async def _entry(viewer: Viewer, doc_id: str, unit_id: str) -> Entry:
    library = await viewer.deps.library.snapshot()
    entry = library.entries.get(doc_id)
    if entry is None or entry.type != "directive" or not reach(viewer.tree, entry.audience,
                                                               unit_id):
        raise access.Forbidden(NOT_YOURS)
    require_current(entry)  # no coverage or reminder about a document no longer in force
    return entry


@page
async def heat(request: web.Request, viewer: Viewer) -> web.Response:
    """Child units × directives, % studied; a child opens the same table one level down."""
    deps, tree = viewer.deps, viewer.tree
    unit_id = _unit(request, viewer)
    library = await deps.library.snapshot()
    entries = [e for e in library.directives() if reach(tree, e.audience, unit_id)]
    reports = await coverage_many(deps.redis, deps.keys, tree,
                                  [(e.id, e.audience) for e in entries], unit_id,
                                  deps.library.sizes)
    columns = [Column(e, r) for e, r in zip(entries, reports, strict=True)]
    children = [c for c in tree.children.get(unit_id, ())
                if any(col.cell(c) is not None for col in columns)]
    parent = tree.units[unit_id].parent
    up = parent if parent and viewer.can(Role.CADRE, parent) else None
    return render(request, "documents.html", viewer, unit=tree.units[unit_id],
                  path_name=tree.path(unit_id), columns=columns, children=children,
                  names=tree.units, up=up, roots=viewer.scopes(Role.CADRE))


@page
async def unit_list(request: web.Request, viewer: Viewer) -> web.Response:
    """One directive under one unit: the totals and the paged list of who has not studied."""
    deps, tree = viewer.deps, viewer.tree
    entry, unit_id = await _doc_and_unit(request, viewer)
    report = await coverage(deps.redis, deps.keys, tree, entry.id, unit_id, entry.audience)
    waiting = await not_acknowledged_page(deps.redis, deps.keys, tree, entry.id, unit_id,
                                          entry.audience, page_number(request) - 1, PAGE,
                                          deps.library.sizes)
    number, pages = waiting.page + 1, waiting.pages
    people = await members_by_id(deps.redis, deps.keys, waiting.ids)
    window = await reminders.window(deps, entry, unit_id)
    return render(request, "document_unit.html", viewer, entry=entry, unit=tree.units[unit_id],
                  path_name=tree.path(unit_id), report=report, people=people, names=tree.units,
                  missing=waiting.total, page=number, pages=pages, first=(number - 1) * PAGE,
                  window=window, sent=request.query.get("da-nhac", ""),
                  window_at=clock_time(window) if window else "",
                  window_end=clock_time(window + REMIND_WINDOW) if window else "")


@page
async def ask_remind(request: web.Request, viewer: Viewer) -> web.Response:
    """"Gửi nhắc nhở tới N đồng chí?": the exact count first, as in the chat."""
    deps, tree = viewer.deps, viewer.tree
    entry, unit_id = await _doc_and_unit(request, viewer)
    plan = await reminders.plan(deps, tree, entry, unit_id)
    return render(request, "document_remind.html", viewer, entry=entry, unit=tree.units[unit_id],
                  path_name=tree.path(unit_id), plan=plan, later=later_line(len(plan.kept)),
                  window_at=clock_time(plan.window) if plan.window else "",
                  window_end=clock_time(plan.window + REMIND_WINDOW) if plan.window else "")


@page
async def remind(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """"Nhắc nhở": the same service and window as the chat's button."""
    deps, tree = viewer.deps, viewer.tree
    entry, unit_id = await _doc_and_unit(request, viewer)
    sent = await reminders.send(deps, tree, entry, unit_id, viewer.member.id, deps.clock())
    outcome = (str(sent.queued) if sent.queued or sent.kept
               else ("0" if not sent.window else "trung"))
    return redirect(f"/web/van-ban/{entry.id}/{unit_id}?da-nhac={outcome}")


def add_routes(app: web.Application) -> None:
    """The documents pages."""
    app.router.add_get("/web/van-ban", heat)
    app.router.add_get("/web/van-ban/{doc}/{unit}", unit_list)
    app.router.add_get("/web/van-ban/{doc}/{unit}/nhac-nho", ask_remind)
    app.router.add_post("/web/van-ban/{doc}/{unit}/nhac-nho", remind)
