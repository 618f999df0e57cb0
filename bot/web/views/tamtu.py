"""Tâm tư, kiến nghị: the queue of the listener's units (oldest first), one thread as a cadre
sees it in the chat (never the sender of an anonymous thread), the answer, and the monthly
report — the same service calls and the same renderings as the chat's screens."""

from __future__ import annotations

import re
from datetime import date

from aiohttp import web

from bot.formatting import VIETNAM
from bot.org import access
from bot.org.models import Role
from bot.tamtu.models import TEXT_LIMITS, Thread
from bot.tamtu.report import build, groups
from bot.tamtu.service import Refused
from bot.web.server import Viewer, page, redirect, render
from handlers.tamtu.report import render as render_report
from handlers.tamtu.ui import cadre_view, listener_units, unit_name, vn_day

SHOWN = 50
MONTH = re.compile(r"^20\d\d-(0[1-9]|1[0-2])$")


def _today(viewer: Viewer) -> date:
    return viewer.deps.clock().astimezone(VIETNAM).date()


async def _thread(viewer: Viewer, code: str) -> Thread:
    """A thread the viewer may act on (listener over the unit handling it now)."""
    thread = await viewer.deps.tamtu.store.get(code[:16])
    if thread is None or not viewer.can(Role.LISTENER, thread.unit):
        raise access.Forbidden("Không tìm thấy tâm tư này.")
    return thread


@page
async def queue(request: web.Request, viewer: Viewer) -> web.Response:
    """The oldest waiting threads over the viewer's units."""
    service, tree = viewer.deps.tamtu, viewer.tree
    threads, total = await service.queue(listener_units(viewer.member, tree), SHOWN)
    today = _today(viewer)
    rows = [(t, service.topic_name(t.topic), unit_name(tree, t.attributed), vn_day(t.day),
             t.overdue(today)) for t in threads]
    return render(request, "tamtu.html", viewer, rows=rows, total=total)


@page
async def thread(request: web.Request, viewer: Viewer) -> web.Response:
    """The thread as the chat shows it to a cadre, and the answer form."""
    found = await _thread(viewer, request.match_info["code"])
    return _thread_page(request, viewer, found, error=request.query.get("loi", ""))


def _thread_page(request: web.Request, viewer: Viewer, found: Thread, *, error: str = "",
                 typed: str = "", status: int = 200) -> web.Response:
    text = cadre_view(found, viewer.deps.tamtu, viewer.tree, _today(viewer))
    # cadre_view is our own Telegram-HTML subset with every user text escaped.
    return render(request, "tamtu_thread.html", viewer, thread=found, text=text,
                  limits=TEXT_LIMITS, done=request.query.get("xong", ""), error=error,
                  typed=typed, status=status)


@page
async def reply(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """Store the answer and notify the sender through the outbox (as in the chat)."""
    found = await _thread(viewer, request.match_info["code"])
    form = await request.post()
    value = str(form.get("text", "")).strip()
    low, high = TEXT_LIMITS
    if not low <= len(value) <= high:  # shown again with the answer as typed
        return _thread_page(request, viewer, found, error="do-dai", typed=value, status=400)
    who = f"{viewer.member.name}, {unit_name(viewer.tree, found.unit)}"
    try:
        await viewer.deps.tamtu.reply(viewer.member, who, found, value, _today(viewer))
    except Refused:
        return redirect(f"/web/tam-tu/{found.code}?loi=trang-thai")
    return redirect(f"/web/tam-tu/{found.code}?xong=1")


@page
async def report(request: web.Request, viewer: Viewer) -> web.Response:
    """One unit's month: no cell of anonymous threads under k (bot.tamtu.report)."""
    roots = viewer.scopes(Role.LISTENER)
    if not roots:
        raise access.Forbidden("Trang này dành cho người tiếp nhận tâm tư.")
    unit = request.query.get("don-vi", roots[0])
    month = request.query.get("thang", f"{_today(viewer):%Y-%m}")
    if not MONTH.match(month):
        raise access.Forbidden("Tháng không hợp lệ.")
    viewer.require(Role.LISTENER, unit)
    service, tree = viewer.deps.tamtu, viewer.tree
    rolled = await service.store.rolled_up(month, groups(tree, unit))
    built = build(rolled, unit, month, service.policy.k)
    text = render_report(built, tree, service.topic_name, service.policy.k)
    children = [c for c in tree.children.get(unit, ()) if viewer.can(Role.LISTENER, c)]
    return render(request, "tamtu_report.html", viewer, text=text, unit=tree.units[unit],
                  month=month, children=children, names=tree.units)


def add_routes(app: web.Application) -> None:
    """The tâm tư pages."""
    app.router.add_get("/web/tam-tu", queue)
    app.router.add_get("/web/tam-tu/bao-cao", report)
    app.router.add_get("/web/tam-tu/{code}", thread)
    app.router.add_post("/web/tam-tu/{code}/tra-loi", reply)
