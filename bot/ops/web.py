"""The operator's HTTP endpoints: /healthz and /metrics, in webhook and polling mode alike.

In webhook mode they share the webhook server; in polling mode `ops_server` serves them alone
on DVBOT_HTTP_PORT, so container health checks and Prometheus work the same in both modes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from aiohttp import web

from bot.channels.http_guard import Limits, guard, guarded_runner, listen
from bot.channels.webhook import HEALTH, build_web_app
from bot.deps import Deps
from bot.ops.metrics import CONTENT_TYPE
from bot.storage.aof_check import load_warning
from bot.web.routes import add_dashboard

log = logging.getLogger("dvbot.ops")

DEPS = web.AppKey("deps", Deps)
CHANNELS = web.AppKey("channels", list[str])


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; queue lengths are read from Redis now."""
    deps = request.app[DEPS]
    channels: list[str] = request.app[CHANNELS]
    try:
        await deps.metrics.read_queues(deps.redis, deps.keys, channels)
    except Exception:  # counters are still worth serving while Redis is away
        log.warning("could not read queue lengths for /metrics", exc_info=True)
    return web.Response(body=deps.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


def add_ops_routes(app: web.Application, deps: Deps, channels: Sequence[str]) -> None:
    """Add /metrics and the web dashboard to an app that already serves /healthz."""
    deps.metrics.count_unlocks(deps.conversations.unlocks)
    app[DEPS] = deps
    app[CHANNELS] = list(channels)
    data_dir = deps.settings.data_dir

    async def store_lost_data() -> dict[str, str]:
        """A truncated AOF at the embedded store's start: the last writes are gone."""
        warning = load_warning(data_dir)
        return {"store": warning} if warning else {}

    app[HEALTH] = [*app.get(HEALTH, []), store_lost_data]  # /healthz detail
    app.router.add_get("/metrics", metrics)
    add_dashboard(app, deps)  # the dashboard is served wherever /healthz is


@asynccontextmanager
async def ops_server(deps: Deps, channels: Sequence[str]) -> AsyncIterator[None]:
    """Serve /healthz and /metrics on DVBOT_HTTP_HOST:PORT for the duration of the block.

    A port already taken is logged, not fatal: the bot itself must keep answering members."""
    settings = deps.settings
    app = build_web_app(deps.redis, deps.conversations, None, "")
    add_ops_routes(app, deps, channels)
    limits = Limits.of(settings)
    guard(app, limits)
    runner = guarded_runner(app, limits, access_log=False)
    await runner.setup()
    listener = None
    try:
        try:
            listener = await listen(runner, settings.http_host, settings.http_port, limits)
            log.info("health and metrics on %s:%s", settings.http_host, settings.http_port)
        except OSError as exc:
            log.warning("could not serve /healthz and /metrics on port %s: %s",
                        settings.http_port, exc)
        yield
    finally:
        if listener is not None:
            listener.close()
        await runner.cleanup()
