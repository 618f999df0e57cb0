"""Slow and greedy HTTP clients on dvbot's own server (webhooks, /healthz, /metrics, files).

Three limits, each against an attack seen on the bare aiohttp server:
- headers: a connection that has not sent a whole request head within `read_timeout` seconds
  (of connecting, or of its previous answer) is closed. aiohttp's keep-alive timer does this
  when it is short; its default (about an hour) held slow headers sent without any secret.
- bodies: a request body must arrive within `read_timeout` seconds of its head, or the
  connection is closed (`read_body_in_time`, a middleware: handlers then read the body
  from memory).
- connections: at most `max_connections` open at once, and never so many that accept() runs
  out of file descriptors (the process's limit minus the Redis pool and a margin); a
  connection over the cap is closed as soon as it is accepted.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bot.settings import Settings

log = logging.getLogger("dvbot.http")

_FD_MARGIN = 64  # log files, the AOF, Zalo/Telegram client sockets, subprocess pipes
READ_TIMEOUT = web.AppKey("read_timeout", float)


@dataclass(frozen=True)
class Limits:
    """The server's limits on slow and numerous clients."""

    read_timeout: float = 10.0
    max_connections: int = 1000

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The configured limits, the cap lowered to fit the file-descriptor limit."""
        return cls(settings.http_read_timeout,
                   connection_cap(settings.http_max_connections,
                                  settings.redis_max_connections))


def connection_cap(wanted: int, redis_connections: int) -> int:
    """`wanted`, lowered to what the file-descriptor limit leaves for HTTP clients."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(8, min(wanted, soft - redis_connections - _FD_MARGIN))


def guard(app: web.Application, limits: Limits) -> None:
    """Add the body deadline to an application (before it is started)."""
    app[READ_TIMEOUT] = limits.read_timeout
    app.middlewares.append(read_body_in_time)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def read_body_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read the whole body within the deadline, or drop the connection."""
    if request.body_exists:
        try:
            async with asyncio.timeout(request.app[READ_TIMEOUT]):
                await request.read()  # kept by aiohttp: request.json() reads it from memory
        except TimeoutError:
            log.warning("closed a connection from %s: the body did not arrive in %g s",
                        request.remote, request.app[READ_TIMEOUT])
            if request.transport is not None:
                request.transport.close()
            raise web.HTTPRequestTimeout() from None
    return await handler(request)


def guarded_runner(app: web.Application, limits: Limits, *, access_log: bool = True
                   ) -> web.AppRunner:
    """An AppRunner whose idle/unfinished-head timeout is the read timeout."""
    if access_log:
        return web.AppRunner(app, keepalive_timeout=limits.read_timeout)
    return web.AppRunner(app, access_log=None, keepalive_timeout=limits.read_timeout)


class _Refused(asyncio.Protocol):
    """What a connection over the cap gets: closed at once, its descriptor freed."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Drop it."""
        transport.close()


async def listen(app_runner: web.AppRunner, host: str, port: int, limits: Limits
                 ) -> asyncio.Server:
    """Accept connections on host:port, at most `limits.max_connections` at a time; close
    the returned server to stop accepting (the runner's cleanup finishes open requests)."""
    server = app_runner.server
    assert server is not None, "call runner.setup() first"
    cap, refused = limits.max_connections, 0

    def protocol() -> asyncio.BaseProtocol:
        nonlocal refused
        if len(server.connections) >= cap:
            refused += 1
            if refused in (1, 10, 100) or refused % 1000 == 0:
                log.warning("%d connection(s) refused so far: %d open, the cap", refused, cap)
            return _Refused()
        return server()

    loop = asyncio.get_running_loop()
    return await loop.create_server(protocol, host, port, reuse_address=True, backlog=128)
