"""Đề xuất Dân vận khéo: the review queues in scope, the review screen (full proposal, photos
at full size, history), and the decision — the same service transition as the chat, so a
decision taken in one shows in the other at once, and the author is told the same way."""

from __future__ import annotations

from aiohttp import web

from bot.org import access
from bot.org.models import Role
from bot.proposals.models import Decision, Limits, Proposal, State
from bot.proposals.reviewing import may_review, notify_author, review_units
from bot.proposals.service import ONLY_OWN, Refused
from bot.web.server import Viewer, page, redirect, render
from bot.web.views import decision_form
from bot.web.views.decision_form import PDF_LIMIT, PROBLEMS, DecisionForm

OUTSIDE = "Đề xuất này không thuộc phạm vi thẩm định của đồng chí."
VERBS = {Decision.APPROVE: "Thẩm định đạt", Decision.RETURN: "Trả lại để bổ sung",
         Decision.REJECT: "Không chấp nhận"}


def _units(viewer: Viewer) -> list[str]:
    units = review_units(viewer.member, viewer.deps.proposals.levels, viewer.tree)
    if not units:
        raise access.Forbidden(OUTSIDE)
    return units


async def _proposal(viewer: Viewer, code: str, *, public: bool = False) -> Proposal:
    """The proposal, if the viewer reviews (or reviewed) at one of its levels; with `public`,
    a recognised model too (the gallery shows those to everyone, as in the chat)."""
    p = await viewer.deps.proposals.store.get(code[:20])
    if p is None:
        raise access.Forbidden(OUTSIDE)
    if public and p.state is State.RECOGNISED:
        return p
    if not any(viewer.can(Role.REVIEWER, unit) for unit in p.route):
        raise access.Forbidden(OUTSIDE)
    return p


@page
async def queues(request: web.Request, viewer: Viewer) -> web.Response:
    """Waiting proposals per queue in scope, and "Nhận đề xuất tiếp theo"."""
    deps = viewer.deps
    units = review_units(viewer.member, deps.proposals.levels, viewer.tree)
    if not units:  # a cadre without a reviewer role still has the gallery
        return redirect("/web/de-xuat/mo-hinh")
    stats = await deps.proposals.queue.stats(units)
    return render(request, "proposals.html", viewer, stats=stats, names=viewer.tree.units,
                  now=deps.clock().timestamp(), empty=request.query.get("het", ""),
                  only_own=ONLY_OWN)


@page
async def take_next(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """Claim the next proposal (or the one already held) and open it."""
    deps, tree = viewer.deps, viewer.tree
    try:
        claimed = await deps.proposals.next_for(viewer.member, _units(viewer), deps.clock())
    except Refused:  # only the reviewer's own proposals wait
        return redirect("/web/de-xuat?het=rieng")
    if claimed is None:
        return redirect("/web/de-xuat?het=1")
    if claimed.fresh:
        await notify_author(deps, tree, claimed.proposal)
    return redirect(f"/web/de-xuat/{claimed.proposal.code}")


@page
async def review(request: web.Request, viewer: Viewer) -> web.Response:
    """The whole proposal, its photos, its history; the decision form while it is held."""
    p = await _proposal(viewer, request.match_info["code"])
    return await _page(request, viewer, p, error=request.query.get("loi", ""))


async def _page(request: web.Request, viewer: Viewer, p: Proposal, *, error: str = "",
                typed: DecisionForm | None = None, status: int = 200) -> web.Response:
    deps, tree = viewer.deps, viewer.tree
    events = await deps.proposals.store.history(p.code)
    holds = (p.state is State.IN_REVIEW and p.claimed_by == viewer.member.id
             and may_review(viewer.member, p, tree))
    last = p.level + 1 >= len(p.route)
    verbs = {**VERBS, **({Decision.APPROVE: "Công nhận"} if last else {})}
    message = typed.message if typed is not None else PROBLEMS.get(error, "")
    return render(request, "proposal.html", viewer, p=p, events=events, holds=holds,
                  verbs=verbs, names=tree.units, limits=Limits, done=request.query.get("xong"),
                  error=error, message=message, typed=typed or DecisionForm(), last=last,
                  pdf_limit=PDF_LIMIT // 1024, criteria=deps.dvk.config.criteria,
                  status=status)


@page
async def decide(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """Apply the decision once (the version in the form makes a second press a no-op). A
    form with a problem is shown again with everything typed, and nothing is recorded."""
    deps, tree = viewer.deps, viewer.tree
    p = await _proposal(viewer, request.match_info["code"])
    if not may_review(viewer.member, p, tree):
        raise access.Forbidden(OUTSIDE)
    config = deps.dvk.config
    form = viewer.form  # a POST: the page wrapper read it
    if form is None:
        raise access.Forbidden(OUTSIDE)
    typed = decision_form.read(form, config,
                               recognises=p.level + 1 >= len(p.route))
    if typed.problem:
        return await _page(request, viewer, p, error=typed.problem, typed=typed, status=400)
    try:
        done = await deps.proposals.decide(
            viewer.member, p.code, int(typed.version), Decision(typed.decision), typed.answer,
            typed.note, deps.clock(),
            assessment=await decision_form.assessment(typed, config, deps.library.files))
    except Refused:
        return redirect(f"/web/de-xuat/{p.code}?loi=da-xu-ly")
    await notify_author(deps, tree, done)
    await deps.audit.record(viewer.member.id, "proposal_decide", code=p.code,
                            state=done.state.value, via="web")
    return redirect(f"/web/de-xuat/{p.code}?xong=1")


@page
async def photo(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """One photo of a proposal at full size (the same scope as the proposal)."""
    p = await _proposal(viewer, request.match_info["code"], public=True)
    index = request.match_info["n"]
    if not index.isdigit() or not 1 <= int(index) <= len(p.photos):
        raise access.Forbidden(OUTSIDE)
    stored = p.photos[int(index) - 1].file
    return web.FileResponse(viewer.deps.library.files.path(stored),
                            headers={"Content-Type": stored.mime if stored.mime.startswith(
                                "image/") else "application/octet-stream"})


@page
async def recognition_pdf(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """The signed recognition decision (the same scope as the recognised model)."""
    p = await _proposal(viewer, request.match_info["code"], public=True)
    if p.recognition is None or p.recognition.file is None:
        raise access.Forbidden(OUTSIDE)
    stored = p.recognition.file
    return web.FileResponse(viewer.deps.library.files.path(stored), headers={
        "Content-Type": "application/pdf",
        "Content-Disposition": f'attachment; filename="quyet-dinh-{p.code}.pdf"'})


@page
async def gallery(request: web.Request, viewer: Viewer) -> web.Response:
    """Recognised models, newest first, with their photos (as «Mô hình tiêu biểu» in the chat)."""
    models = await viewer.deps.proposals.store.gallery()
    return render(request, "gallery.html", viewer, models=models, names=viewer.tree.units)


def add_routes(app: web.Application) -> None:
    """The proposal pages."""
    app.router.add_get("/web/de-xuat/mo-hinh", gallery)
    app.router.add_get("/web/de-xuat", queues)
    app.router.add_post("/web/de-xuat/tiep-theo", take_next)
    app.router.add_get("/web/de-xuat/{code}", review)
    app.router.add_post("/web/de-xuat/{code}/quyet-dinh", decide)
    app.router.add_get("/web/de-xuat/{code}/anh/{n}", photo)
    app.router.add_get("/web/de-xuat/{code}/quyet-dinh.pdf", recognition_pdf)
