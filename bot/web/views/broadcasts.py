"""Thông báo: compose (text, audience on the tree, roles, time, "Đã nhận"), preview with the
exact count, confirm; the viewer's broadcasts with their report per unit, cancel and remind —
through the same BroadcastService as the chat."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDict, MultiDictProxy

from bot.broadcasts.service import Broadcast
from bot.org import access
from bot.org.models import Role
from bot.web.server import Viewer, page, redirect, render

TEXT_MAX = 4000  # one Telegram message; longer announcements go as a document from the chat
ROLES = (Role.CADRE, Role.REVIEWER, Role.ADMIN)
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
Form = MultiDictProxy[str | bytes | bytearray | FileField]


def _units(viewer: Viewer) -> list[str]:
    units = [u for root in viewer.scopes(Role.CADRE) for u in viewer.tree.subtree(root)]
    if not units:
        raise access.Forbidden("Chức năng này dành cho đồng chí được phân công phụ trách đơn vị.")
    return units


def _draft(viewer: Viewer, form: Form) -> Broadcast | str:
    """The broadcast a form describes, or the Vietnamese reason it cannot be one."""
    unit = str(form.get("unit", ""))
    viewer.require(Role.CADRE, unit)
    text = str(form.get("text", "")).strip()
    if not 1 <= len(text) <= TEXT_MAX:
        return f"Nội dung cần từ 1 đến {TEXT_MAX:,} ký tự.".replace(",", ".")
    roles = [Role(r) for r in map(str, form.getall("roles", [])) if r in {x.value for x in ROLES}]
    now = viewer.deps.clock()
    at = now
    raw_at = str(form.get("at", "")).strip()
    if raw_at:
        try:
            at = datetime.fromisoformat(raw_at).replace(tzinfo=LOCAL).astimezone(UTC)
        except ValueError:
            return "Thời điểm gửi không hợp lệ."
        if at < now:
            return "Thời điểm gửi đã qua. Xin đồng chí chọn thời điểm sau bây giờ."
    return Broadcast(author=viewer.member.id, author_name=viewer.member.name, unit=unit,
                     roles=roles, text=text, ack=form.get("ack") == "1", at=at,
                     created_at=now)


@page
async def listing(request: web.Request, viewer: Viewer) -> web.Response:
    """The compose form and the viewer's broadcasts."""
    units = _units(viewer)
    mine = await viewer.deps.broadcasts.by_author(viewer.member.id, limit=20)
    return render(request, "broadcasts.html", viewer, units=units, names=viewer.tree.units,
                  roles=ROLES, mine=mine, text_max=TEXT_MAX, error="",
                  form=MultiDictProxy(MultiDict[str]()))


@page
async def preview(request: web.Request, viewer: Viewer) -> web.Response:
    """Exactly who gets it: the count, before anything is stored."""
    form = await request.post()
    draft = _draft(viewer, form)
    if isinstance(draft, str):
        return await _compose_again(request, viewer, form, draft)
    recipients = await viewer.deps.broadcasts.audience(viewer.tree, draft.unit, draft.roles,
                                                       viewer.member.id)
    reachable = sum(1 for r in recipients if r.channel)
    return render(request, "broadcast_preview.html", viewer, b=draft, form=form,
                  reachable=reachable, unreachable=len(recipients) - reachable,
                  path_name=viewer.tree.path(draft.unit))


@page
async def send(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """Store and schedule it, after checking everything once more."""
    form = await request.post()
    draft = _draft(viewer, form)
    if isinstance(draft, str):  # e.g. the chosen time passed while the preview was open
        return await _compose_again(request, viewer, form, draft)
    b = await viewer.deps.broadcasts.create(draft)
    return redirect(f"/web/thong-bao/{b.id}")


async def _compose_again(request: web.Request, viewer: Viewer, form: Form,
                         problem: str) -> web.Response:
    """The compose form again, with the problem and everything typed (nothing is sent)."""
    mine = await viewer.deps.broadcasts.by_author(viewer.member.id, limit=20)
    return render(request, "broadcasts.html", viewer, units=_units(viewer),
                  names=viewer.tree.units, roles=ROLES, mine=mine, text_max=TEXT_MAX,
                  error=problem, form=form, status=400)


async def _mine(viewer: Viewer, broadcast_id: str) -> Broadcast:
    b = await viewer.deps.broadcasts.get(broadcast_id[:12])
    if b is None or b.author != viewer.member.id or not viewer.can(Role.CADRE, b.unit):
        raise access.Forbidden("Không tìm thấy thông báo.")
    return b


@page
async def report(request: web.Request, viewer: Viewer) -> web.Response:
    """Delivered / failed / blocked / confirmed per child unit, live."""
    b = await _mine(viewer, request.match_info["id"])
    state = await viewer.deps.broadcasts.report(b)
    return render(request, "broadcast.html", viewer, b=b, r=state,
                  path_name=viewer.tree.path(b.unit), done=request.query.get("xong", ""))


@page
async def cancel(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """Stop a scheduled or running broadcast."""
    b = await _mine(viewer, request.match_info["id"])
    await viewer.deps.broadcasts.cancel(b, viewer.member.id)
    return redirect(f"/web/thong-bao/{b.id}?xong=huy")


@page
async def remind(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """Send again to those who got it but did not press "Đã nhận"."""
    b = await _mine(viewer, request.match_info["id"])
    count = 0
    if b.ack and not await viewer.deps.broadcasts.reminder_running(b):
        count = await viewer.deps.broadcasts.remind(b, viewer.member.id)
    return redirect(f"/web/thong-bao/{b.id}?xong=nhac-{count}")


def add_routes(app: web.Application) -> None:
    """The broadcast pages."""
    app.router.add_get("/web/thong-bao", listing)
    app.router.add_post("/web/thong-bao/xem-truoc", preview)
    app.router.add_post("/web/thong-bao/gui", send)
    app.router.add_get("/web/thong-bao/{id}", report)
    app.router.add_post("/web/thong-bao/{id}/huy", cancel)
    app.router.add_post("/web/thong-bao/{id}/nhac", remind)
