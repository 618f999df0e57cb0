"""Fixtures for the dashboard: the app on a real loopback HTTP server, seeded data, a signed-in
client per person, and (for browser tests) Chromium from the OS packages driven by Playwright."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.deps import Deps
from bot.web.routes import add_dashboard
from bot.web.sessions import WebSessions
from tests.web.seed import Org, seed

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@pytest.fixture
async def org(deps: Deps, tmp_path: Path) -> Org:
    """The seeded organization."""
    return await seed(deps, tmp_path / "content")


@pytest.fixture
async def server(deps: Deps) -> AsyncIterator[TestServer]:
    """The dashboard alone on 127.0.0.1:<free port>, over real HTTP."""
    app = web.Application()
    add_dashboard(app, deps)
    async with TestServer(app, host="127.0.0.1") as running:
        yield running


class Browser:
    """A cookie-keeping HTTP client for one person (no JavaScript needed by the pages)."""

    def __init__(self, server: TestServer, deps: Deps) -> None:
        self.server = server
        self.deps = deps
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    def url(self, path: str) -> str:
        """Absolute URL on the test server."""
        return str(self.server.make_url(path))

    async def sign_in(self, member_id: str) -> None:
        """Take a fresh link as `/web` would and press «Đăng nhập»."""
        token = await WebSessions(self.deps.redis, self.deps.keys).issue_link(member_id)
        async with self.session.post(self.url(f"/web/vao/{token}"),
                                     allow_redirects=False) as reply:
            assert reply.status == 303, await reply.text()

    async def get(self, path: str) -> tuple[int, str]:
        """GET a page: status and HTML."""
        async with self.session.get(self.url(path), allow_redirects=False) as reply:
            return reply.status, await reply.text()

    async def csrf(self, path: str = "/web/") -> str:
        """The CSRF token the pages carry for this session."""
        status, html = await self.get(path)
        assert status == 200, html
        found = re.search(r'name="csrf" value="([^"]+)"', html)
        assert found, html
        return found.group(1)

    async def post(self, path: str, data: dict[str, str] | list[tuple[str, str]]
                   ) -> tuple[int, str, str]:
        """POST a form: status, HTML and the redirect target (if any)."""
        async with self.session.post(self.url(path), data=data, allow_redirects=False) as reply:
            return reply.status, await reply.text(), reply.headers.get("Location", "")

    async def close(self) -> None:
        """Close the client."""
        await self.session.close()


@pytest.fixture
async def browser(server: TestServer, deps: Deps) -> AsyncIterator[Browser]:
    """A client; sign it in with `await browser.sign_in(member_id)`."""
    client = Browser(server, deps)
    yield client
    await client.close()


def chromium_path() -> str:
    """Debian's Chromium; the browser tests fail (never skip) without it."""
    found = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if found is None:
        pytest.fail("Browser tests need Chromium from the OS packages: run "
                    "`apt-get install chromium` (Debian/Ubuntu), then the tests again.")
    return found
