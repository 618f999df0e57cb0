"""Signing in by one-time link, and signing out.

Opening the link shows a page with one button; pressing it redeems the link. A link preview
(Telegram and Zalo fetch links they show) therefore never uses up the link.
"""

from __future__ import annotations

from aiohttp import web

from bot.org.access import is_staff
from bot.web.server import (
    COOKIE,
    DASHBOARD,
    Viewer,
    page,
    redirect,
    render,
    set_cookie,
)


async def link_page(request: web.Request) -> web.Response:
    """"Đăng nhập bảng điều khiển": one button that redeems the link."""
    return render(request, "signin.html", token=request.match_info["token"])


async def redeem(request: web.Request) -> web.StreamResponse:
    """Redeem the link once; a used, expired or unknown link explains what to do."""
    dash = request.app[DASHBOARD]
    member_id = await dash.sessions.redeem(request.match_info["token"])
    member = await dash.deps.members.get(member_id) if member_id else None
    if member is None:
        return render(request, "signin_failed.html", status=403)
    if not is_staff(member):
        return render(request, "refused.html", status=403)
    sid, _session = await dash.sessions.open(member.id)
    await dash.deps.audit.record(member.id, "web_signin")
    response = redirect("/web/")
    set_cookie(request, response, sid)
    return response


async def signed_out(request: web.Request) -> web.Response:
    """Where a request without a session lands: how to get a link."""
    return render(request, "signed_out.html")


@page
async def sign_out(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    """"Đăng xuất": the session ends on the server, the cookie is dropped."""
    await request.app[DASHBOARD].sessions.close(request.cookies.get(COOKIE, ""))
    response = redirect("/web/dang-nhap")
    response.del_cookie(COOKIE, path="/web")
    return response


def add_routes(app: web.Application) -> None:
    """Sign-in and sign-out routes."""
    app.router.add_get("/web/vao/{token}", link_page)
    app.router.add_post("/web/vao/{token}", redeem)
    app.router.add_get("/web/dang-nhap", signed_out)
    app.router.add_post("/web/dang-xuat", sign_out)
