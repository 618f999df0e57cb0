"""Mount the dashboard on dvbot's own aiohttp server (webhook or health server alike)."""

from __future__ import annotations

from aiohttp import web

from bot.deps import Deps
from bot.web.server import (
    DASHBOARD,
    HERE,
    Dashboard,
    body_too_large,
    templates,
    too_large_page,
)
from bot.web.sessions import WebSessions
from bot.web.views import (
    annual,
    broadcasts,
    documents,
    members,
    overview,
    proposals,
    signin,
    surveys,
    tamtu,
)


def add_dashboard(app: web.Application, deps: Deps) -> None:
    """Every dashboard route, its vendored assets, and what they share."""
    app[DASHBOARD] = Dashboard(deps, WebSessions(deps.redis, deps.keys), templates())
    # Before the body guard is added (bot.channels.http_guard), so it wraps the guard's 413.
    app.middlewares.append(body_too_large)
    app.router.add_static("/web/tep", HERE / "static", append_version=False)
    app.router.add_get("/web/", overview.overview)
    app.router.add_get("/web", _to_home)
    app.router.add_get("/web/qua-lon", _too_large)
    for group in (signin, documents, annual, proposals, members, surveys, broadcasts, tamtu):
        group.add_routes(app)


async def _too_large(request: web.Request) -> web.Response:
    return too_large_page(request)


async def _to_home(_request: web.Request) -> web.Response:
    return web.Response(status=303, headers={"Location": "/web/"})
