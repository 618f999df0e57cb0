"""Khảo sát: the surveys in scope; results built from the same suppressed report as the chat
(text, chart, CSV, XLSX: no cell under k, ever), with the response rate per unit."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from bot.org import access
from bot.org.models import Role
from bot.surveys.charts import chart_png
from bot.surveys.export import to_csv, to_xlsx
from bot.surveys.lifecycle import SurveyTimes
from bot.surveys.models import Survey
from bot.surveys.outputs import NotVisible, people, visible_report
from bot.surveys.report import render as render_text
from bot.surveys.templates import Template, TemplateError, load_templates
from bot.web.server import Viewer, page, redirect, render

LISTED = 50
MAX_DAYS = 90
KINDS = {"csv": ("text/csv; charset=utf-8", to_csv),
         "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", to_xlsx)}


async def _survey(viewer: Viewer, survey_id: str) -> Survey:
    survey = await viewer.deps.surveys.get(survey_id[:20])
    if survey is None:
        raise access.Forbidden("Không tìm thấy khảo sát.")
    viewer.require(Role.CADRE, survey.unit)
    return survey


@page
async def listing(request: web.Request, viewer: Viewer) -> web.Response:
    """Latest surveys whose unit is in the viewer's cadre scope."""
    deps = viewer.deps
    if not viewer.scopes(Role.CADRE):
        raise access.Forbidden("Chức năng này dành cho đồng chí được phân công phụ trách đơn vị.")
    shown = []
    for survey_id in await deps.surveys.recent_ids():
        survey = await deps.surveys.get(survey_id)
        if survey and viewer.can(Role.CADRE, survey.unit):
            shown.append(survey)
        if len(shown) >= LISTED:
            break
    return render(request, "surveys.html", viewer, surveys=shown, now=deps.clock(),
                  names=viewer.tree.units)


@page
async def results(request: web.Request, viewer: Viewer) -> web.Response:
    """The results page: the chat's text, the chart, the downloads."""
    deps = viewer.deps
    survey = await _survey(viewer, request.match_info["id"])
    now = deps.clock()
    try:
        report = await visible_report(deps, survey, viewer.tree, now)
    except NotVisible:
        return render(request, "survey.html", viewer, survey=survey, text=None, now=now)
    # The chat text is our own Telegram-HTML subset with every user text escaped.
    return render(request, "survey.html", viewer, survey=survey, now=now,
                  text=render_text(report, now))


@page
async def chart(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """The bar chart, from the same suppressed report."""
    deps = viewer.deps
    survey = await _survey(viewer, request.match_info["id"])
    try:
        report = await visible_report(deps, survey, viewer.tree, deps.clock())
    except NotVisible as exc:
        raise access.Forbidden(str(exc)) from exc
    return web.Response(body=chart_png(report), content_type="image/png")


@page
async def download(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """CSV or XLSX, from the same suppressed report (named surveys list people)."""
    deps, tree = viewer.deps, viewer.tree
    survey = await _survey(viewer, request.match_info["id"])
    kind = request.match_info["kind"]
    if kind not in KINDS:
        raise access.Forbidden("Định dạng không hợp lệ.")
    try:
        report = await visible_report(deps, survey, tree, deps.clock(), all_texts=True)
    except NotVisible as exc:
        raise access.Forbidden(str(exc)) from exc
    mime, build = KINDS[kind]
    body = build(report, await people(deps, survey, tree))
    await deps.audit.record(viewer.member.id, "survey_export", survey=survey.id, kind=kind,
                            via="web")
    name = f"khao-sat-{survey.id}.{kind}"
    return web.Response(body=body, headers={
        "Content-Type": mime, "Content-Disposition": f'attachment; filename="{name}"'})


def _templates(viewer: Viewer) -> list[Template]:
    try:
        return load_templates(viewer.deps.settings.content_path() / "surveys")
    except TemplateError:
        return []


@page
async def create_form(request: web.Request, viewer: Viewer) -> web.Response:
    """Open a survey from a template: template, unit, anonymous or named, days open."""
    units = [u for root in viewer.scopes(Role.CADRE) for u in viewer.tree.subtree(root)]
    if not units:
        raise access.Forbidden("Chức năng này dành cho đồng chí được phân công phụ trách đơn vị.")
    return render(request, "survey_new.html", viewer, templates=_templates(viewer), units=units,
                  names=viewer.tree.units, error="")


@page
async def create(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """«Mở khảo sát» from the dashboard: the same SurveyTimes.open as the chat."""
    deps, tree = viewer.deps, viewer.tree
    form = await request.post()
    unit = str(form.get("unit", ""))
    viewer.require(Role.CADRE, unit)
    chosen = next((t for t in _templates(viewer) if t.id == form.get("template")), None)
    days = str(form.get("days", ""))
    if chosen is None or not days.isdigit() or not 1 <= int(days) <= MAX_DAYS:
        raise access.Forbidden("Mẫu hoặc thời hạn không hợp lệ.")
    spec = chosen.spec.model_copy(update={"anonymous": form.get("anonymous") == "1",
                                          "days": int(days)})
    now = deps.clock()
    survey, _notified = await SurveyTimes(deps).open(
        spec, unit=unit, author=viewer.member, tree=tree, now=now,
        closes=now + timedelta(days=int(days)))
    return redirect(f"/web/khao-sat/{survey.id}")


def add_routes(app: web.Application) -> None:
    """The survey pages."""
    app.router.add_get("/web/khao-sat/moi", create_form)
    app.router.add_post("/web/khao-sat/moi", create)
    app.router.add_get("/web/khao-sat", listing)
    app.router.add_get("/web/khao-sat/{id}", results)
    app.router.add_get("/web/khao-sat/{id}/bieu-do.png", chart)
    app.router.add_get("/web/khao-sat/{id}/tai-ve.{kind}", download)
