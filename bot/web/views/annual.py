"""The year's "Dân vận khéo" figures for a unit in scope: registered, built, proposed,
recognised, replicated — per child unit and per field, as text, chart and XLSX (the same
`bot.proposals.annual` report as the chat's /baocao)."""

from __future__ import annotations

from aiohttp import web

from bot.formatting import VIETNAM
from bot.org import access
from bot.org.models import Role
from bot.proposals.annual import Annual, chart_png, every_proposal, gather, text, to_xlsx
from bot.web.server import Viewer, page, render

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _report(request: web.Request, viewer: Viewer) -> Annual:
    roots = viewer.scopes(Role.CADRE)
    if not roots:
        raise access.Forbidden("Báo cáo dành cho cán bộ được phân công phụ trách đơn vị.")
    unit = request.query.get("don-vi", roots[0])
    raw = request.query.get("nam", "")
    year = int(raw) if raw.isdigit() and len(raw) == 4 else (
        viewer.deps.clock().astimezone(VIETNAM).year)
    if not 2009 <= year <= 2100:
        raise access.Forbidden("Năm không hợp lệ.")
    viewer.require(Role.CADRE, unit)
    proposals = await every_proposal(viewer.deps.proposals.store)
    return await gather(viewer.deps.dvk, proposals, viewer.tree, unit, year)


@page
async def annual(request: web.Request, viewer: Viewer) -> web.Response:
    """The year's figures as a page, with the chart and the XLSX."""
    report = await _report(request, viewer)
    # `text` is our own Telegram-HTML subset with every user text escaped.
    return render(request, "annual.html", viewer, report=report, text=text(report, viewer.tree),
                  unit=viewer.tree.units[report.root])


@page
async def chart(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """The bar chart."""
    report = await _report(request, viewer)
    return web.Response(body=chart_png(report, viewer.tree), content_type="image/png")


@page
async def xlsx(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """The tables shaped like a year-end report."""
    report = await _report(request, viewer)
    name = f"dan-van-kheo-{report.year}-{report.root}.xlsx"
    return web.Response(body=to_xlsx(report, viewer.tree), headers={
        "Content-Type": XLSX, "Content-Disposition": f'attachment; filename="{name}"'})


def add_routes(app: web.Application) -> None:
    """The annual report pages."""
    app.router.add_get("/web/de-xuat/bao-cao", annual)
    app.router.add_get("/web/de-xuat/bao-cao/bieu-do.png", chart)
    app.router.add_get("/web/de-xuat/bao-cao/tai-ve.xlsx", xlsx)
