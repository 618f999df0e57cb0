"""The dashboard's plumbing: templates, the session check on every page, CSRF, headers.

Every page handler is wrapped by `page`: it loads the session from the cookie, the member from
the store (so a role taken away in the chat is gone on the next click), refuses anyone without a
cadre, reviewer or admin role, checks the CSRF token of every POST, and turns a scope refusal
(`access.Forbidden`) into the same 404 as an unknown id, so ids of other units give no hint.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import jinja2
from aiohttp import web
from redis.exceptions import RedisError

from bot.deps import Deps
from bot.formatting import vn_datetime
from bot.library.status import vn_day
from bot.org import access
from bot.org.access import is_staff
from bot.org.models import Member, Role
from bot.org.tree import OrgTree
from bot.proposals.models import area_label
from bot.web.forms import Form, read_form
from bot.web.sessions import SESSION_IDLE_SECONDS, Session, WebSessions

log = logging.getLogger("dvbot.web")

COOKIE = "dvbot_phien"
HERE = Path(__file__).parent


@dataclass(frozen=True)
class Dashboard:
    """What the dashboard's routes share, kept on the aiohttp app."""

    deps: Deps
    sessions: WebSessions
    templates: jinja2.Environment
    # Figures that read every member record of a scope (reach per channel), kept a few
    # minutes per scope in this process: (computed at, figures).
    figures: dict[str, tuple[datetime, dict[str, int]]] = field(default_factory=dict)


DASHBOARD = web.AppKey("dashboard", Dashboard)


@dataclass(frozen=True)
class Viewer:
    """The signed-in member of one request, with the tree as it is now."""

    member: Member
    tree: OrgTree
    session: Session
    dashboard: Dashboard
    form: Form | None = None  # a POST's form, read once before the page (bot.web.forms)

    @property
    def deps(self) -> Deps:
        """The process's services."""
        return self.dashboard.deps

    @property
    def cadre(self) -> bool:
        """Holds a cadre role somewhere (documents, surveys, broadcasts, members pages)."""
        return bool(self.scopes(Role.CADRE))

    @property
    def listener(self) -> bool:
        """Receives tâm tư somewhere (the tâm tư pages)."""
        return bool(self.scopes(Role.LISTENER))

    def scopes(self, role: Role) -> list[str]:
        """Top units where the viewer holds `role`."""
        return access.top_scopes(self.member, role, self.tree)

    def can(self, role: Role, unit_id: str) -> bool:
        """True if the viewer holds `role` over `unit_id`."""
        return access.can(self.member, role, unit_id, self.tree)

    def require(self, role: Role, unit_id: str) -> None:
        """Forbidden (shown as 404) unless the viewer holds `role` over `unit_id`."""
        access.require(self.member, role, unit_id, self.tree)


Handler = Callable[[web.Request, Viewer], Awaitable[web.StreamResponse]]


def templates() -> jinja2.Environment:
    """The autoescaping template environment (user text is escaped everywhere)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["when"] = lambda moment: vn_datetime(moment) if isinstance(moment,
                                                                             datetime) else ""
    env.filters["day"] = lambda d: vn_day(d) if isinstance(d, date) else ""
    env.filters["number"] = lambda n: f"{n:,}".replace(",", ".")
    # A proposal's field: its name when chosen (the list is configurable), else the old name.
    env.filters["area"] = lambda p: area_label(p.area, p.area_name)
    return env


def render(request: web.Request, name: str, viewer: Viewer | None = None, *, status: int = 200,
           **context: object) -> web.Response:
    """A page from `templates/`, with the headers every dashboard page carries."""
    env = request.app[DASHBOARD].templates
    html = env.get_template(name).render(viewer=viewer, path=request.path, **context)
    response = web.Response(text=html, content_type="text/html", status=status)
    secure(response)
    return response


def secure(response: web.StreamResponse) -> None:
    """No framing, no inline scripts, no caching of pages with members' names."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"


def https(request: web.Request) -> bool:
    """True when the browser reached us over HTTPS (directly or through the proxy)."""
    return request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"


def set_cookie(request: web.Request, response: web.StreamResponse, sid: str) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure behind HTTPS, 8 h."""
    response.set_cookie(COOKIE, sid, max_age=SESSION_IDLE_SECONDS, path="/web",
                        httponly=True, samesite="Strict", secure=https(request))


def page(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap a page: session, role, CSRF on POST, scope refusals as 404, failures answered
    politely in Vietnamese (the store being away included)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await _checked(request, handler)
        except web.HTTPRequestEntityTooLarge:
            raise  # answered by `body_too_large`, as when the body guard refuses it first
        except RedisError:
            log.exception("dashboard page %s: the store did not answer", request.path)
            return render(request, "error.html", status=503, store=True)
        except Exception:  # the one error hook of the web channel: log, answer politely
            log.exception("dashboard page %s failed", request.path)
            return render(request, "error.html", status=500, store=False)

    return wrapped


@web.middleware
async def body_too_large(request: web.Request, handler: Callable[
        [web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """A form over the server's body cap (1 MiB, which keeps a flood of uploads from filling
    memory) gets a Vietnamese page with the way back, not aiohttp's bare 413."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        if not request.path.startswith("/web/"):
            raise
        return too_large_page(request, back=request.path.rsplit("/", 1)[0])


def too_large_page(request: web.Request, *, back: str = "/web/") -> web.Response:
    """The 413 page; also at GET /web/qua-lon for a proxy that refuses the body first
    (deploy/nginx.conf: `error_page 413 /web/qua-lon`)."""
    return render(request, "error.html", status=413, store=False, too_large=True, back=back)


async def _checked(request: web.Request, handler: Handler) -> web.StreamResponse:
    dash = request.app[DASHBOARD]
    session = await dash.sessions.get(request.cookies.get(COOKIE, ""))
    if session is None:
        return redirect("/web/dang-nhap")
    member = await dash.deps.members.get(session.member_id)
    if member is None or not is_staff(member):
        return render(request, "refused.html", status=403)
    form = None
    if request.method == "POST":
        form = await read_form(request)
        if not hmac.compare_digest(str(form.get("csrf", "")).encode(), session.csrf.encode()):
            return render(request, "refused.html", status=403, csrf=True)
    viewer = Viewer(member, await dash.deps.units.tree(), session, dash, form)
    try:
        response = await handler(request, viewer)
    except access.Forbidden:
        return render(request, "not_found.html", viewer, status=404)
    secure(response)
    return response


def not_found(request: web.Request, viewer: Viewer) -> web.Response:
    """The one answer for an unknown id and for an id outside the viewer's scope."""
    return render(request, "not_found.html", viewer, status=404)


def redirect(location: str) -> web.Response:
    """303 See Other to a path of the dashboard (after a POST, or to sign in)."""
    return web.Response(status=303, headers={"Location": location})


def page_number(request: web.Request) -> int:
    """The `trang` query argument (1 when missing or not a number)."""
    raw = request.query.get("trang", "1")
    return max(int(raw), 1) if raw.isdigit() and len(raw) < 7 else 1
