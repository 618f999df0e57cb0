"""Zalo OA domain verification: Zalo gives a `zalo_verifier<code>.html` file to serve at the
root of the webhook's domain (DVBOT_ZALO_VERIFIER_FILE names it); nothing else is served there."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from aiohttp import web

log = logging.getLogger("dvbot.zalo")

NAME = re.compile(r"zalo_verifier[A-Za-z0-9_-]+\.html")


def add_verifier_route(app: web.Application, path: Path) -> None:
    """Serve the verification file at "/<its name>" (a name Zalo's pattern allows only)."""
    if not NAME.fullmatch(path.name):
        log.error("DVBOT_ZALO_VERIFIER_FILE must name a zalo_verifier<code>.html file, not %s",
                  path.name)
        return
    try:
        body = path.read_bytes()
    except OSError as exc:
        log.error("DVBOT_ZALO_VERIFIER_FILE cannot be read (%s): Zalo cannot verify the domain",
                  exc)
        return

    async def verifier(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/html", charset="utf-8")

    app.router.add_get(f"/{path.name}", verifier)
    log.info("Zalo domain verification file served at /%s", path.name)
