"""Đảng viên và mã mời: members by unit with their linked channels; invites in scope — create,
revoke (after a confirmation page), and a printable sheet of single-use invite QR codes for a chi
bộ meeting (one per person, with the unit and expiry)."""

from __future__ import annotations

import segno
from aiohttp import web

from bot.org import access
from bot.org.models import Invite, Role
from bot.web.server import Viewer, page, page_number, redirect, render

PAGE = 50
SHEET_MAX = 60
USES = (1, 5, 20, 50, 100)
CHANNELS = {"telegram": "Telegram", "zalo": "Zalo (bot)", "zalo_oa": "Zalo OA",
            "console": "Dòng lệnh", "demo": "Dữ liệu mẫu"}


def _unit(request: web.Request, viewer: Viewer) -> str:
    roots = viewer.scopes(Role.CADRE)
    if not roots:
        raise access.Forbidden("Trang này dành cho đồng chí được phân công phụ trách đơn vị.")
    unit_id = request.query.get("don-vi", roots[0])
    viewer.require(Role.CADRE, unit_id)
    return unit_id


@page
async def members(request: web.Request, viewer: Viewer) -> web.Response:
    """Members of a unit's subtree, 50 a page, with the channels each has linked."""
    deps, tree = viewer.deps, viewer.tree
    unit_id = _unit(request, viewer)
    number = page_number(request)
    total, people = await deps.members.page(tree.subtree(unit_id), (number - 1) * PAGE, PAGE)
    pages = max(1, -(-total // PAGE))
    if number > pages:
        number = pages
        total, people = await deps.members.page(tree.subtree(unit_id), (number - 1) * PAGE, PAGE)
    return render(request, "members.html", viewer, unit=tree.units[unit_id], people=people,
                  names=tree.units, path_name=tree.path(unit_id), total=total, page=number,
                  pages=pages, channels=CHANNELS, children=tree.children.get(unit_id, ()))


def _usable(invite: Invite, viewer: Viewer) -> bool:
    now = viewer.deps.clock()
    return (not invite.revoked and invite.expires_at > now and invite.uses < invite.max_uses
            and viewer.can(Role.CADRE, invite.unit))


@page
async def invites(request: web.Request, viewer: Viewer) -> web.Response:
    """Invites still usable in scope, and the form to create more."""
    tree = viewer.tree
    units = [u for root in viewer.scopes(Role.CADRE) for u in tree.subtree(root)]
    if not units:
        raise access.Forbidden("Trang này dành cho đồng chí được phân công phụ trách đơn vị.")
    active = [i for i in await viewer.deps.invites.list() if _usable(i, viewer)]
    roles = {u: access.grantable_roles(viewer.member, u, tree) for u in units}
    return render(request, "invites.html", viewer, active=active, units=units, names=tree.units,
                  roles=roles, uses=USES, done=request.query.get("xong", ""),
                  every_role=sorted({r for rs in roles.values() for r in rs}))


async def _create(viewer: Viewer, unit: str, role_raw: str, uses: int, count: int
                  ) -> list[Invite]:
    """`count` invites, after the same checks as the chat (scope, grantable role)."""
    tree, deps = viewer.tree, viewer.deps
    viewer.require(Role.CADRE, unit)
    if role_raw not in {r.value for r in access.grantable_roles(viewer.member, unit, tree)}:
        raise access.Forbidden("Vai trò không hợp lệ.")
    made = []
    for _ in range(count):
        invite = await deps.invites.create(unit=unit, role=Role(role_raw),
                                           created_by=viewer.member.id, max_uses=uses,
                                           days=deps.settings.invite_days, now=deps.clock())
        await deps.audit.record(viewer.member.id, "invite_create", code=invite.code,
                                unit=unit, role=role_raw, uses=str(uses), via="web")
        made.append(invite)
    return made


@page
async def create(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """One invite with the chosen role and number of uses."""
    form = await request.post()
    uses = str(form.get("uses", ""))
    if not uses.isdigit() or int(uses) not in USES:
        raise access.Forbidden("Số lượt dùng không hợp lệ.")
    made = await _create(viewer, str(form.get("unit", "")), str(form.get("role", "")),
                         int(uses), 1)
    return redirect(f"/web/ma-moi?xong={made[0].code}")


@page
async def sheet(request: web.Request, viewer: Viewer) -> web.Response:
    """N single-use member invites for one unit, printed as a sheet of QR codes."""
    form = await request.post()
    count = str(form.get("count", ""))
    if not count.isdigit() or not 1 <= int(count) <= SHEET_MAX:
        raise access.Forbidden("Số phiếu không hợp lệ.")
    unit = str(form.get("unit", ""))
    made = await _create(viewer, unit, Role.MEMBER.value, 1, int(count))
    links = viewer.deps.links
    cards = []
    for invite in made:
        target = links.invite(invite.code) or f"/start {invite.code}"
        svg = segno.make(target, error="m").svg_inline(scale=4, border=2)
        cards.append((invite, svg))
    return render(request, "invite_sheet.html", viewer, cards=cards,
                  unit=viewer.tree.units[unit], has_link=links.invite("X") is not None)


@page
async def ask_revoke(request: web.Request, viewer: Viewer) -> web.Response:
    """"Thu hồi mã …?": nothing is revoked before the confirmation."""
    invite = await viewer.deps.invites.get(request.match_info["code"][:16].upper())
    if invite is None:
        raise access.Forbidden("Không tìm thấy mã mời này.")
    viewer.require(Role.CADRE, invite.unit)
    return render(request, "invite_revoke.html", viewer, invite=invite, names=viewer.tree.units)


@page
async def revoke(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """Revoke after the confirmation; scope re-checked."""
    deps = viewer.deps
    invite = await deps.invites.get(request.match_info["code"][:16].upper())
    if invite is None:
        raise access.Forbidden("Không tìm thấy mã mời này.")
    viewer.require(Role.CADRE, invite.unit)
    await deps.invites.revoke(invite.code)
    await deps.audit.record(viewer.member.id, "invite_revoke", code=invite.code,
                            unit=invite.unit, via="web")
    return redirect("/web/ma-moi?xong=thu-hoi")


def add_routes(app: web.Application) -> None:
    """Members and invites pages."""
    app.router.add_get("/web/dang-vien", members)
    app.router.add_get("/web/ma-moi", invites)
    app.router.add_post("/web/ma-moi", create)
    app.router.add_post("/web/ma-moi/phieu", sheet)
    app.router.add_get("/web/ma-moi/{code}/thu-hoi", ask_revoke)
    app.router.add_post("/web/ma-moi/{code}/thu-hoi", revoke)
