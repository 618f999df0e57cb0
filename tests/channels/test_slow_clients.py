"""Slow and greedy clients on the webhook server (`dvbot run` in webhook mode, real sockets on
loopback). Regressions: slow bodies were never timed out, slow headers sent without any secret
were held forever, and 1,100 idle connections at a 1,024 descriptor limit made accept() fail.
Here the read timeout is 1 s and the cap 60 connections; every loop is bounded."""

from __future__ import annotations

import asyncio
import resource
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.channels.http_guard import connection_cap
from bot.channels.webhook import SECRET_HEADER, telegram_path
from tests.channels.conftest import LiveBot, _live, live_settings, text
from tests.conftest import free_port
from tests.standin.botapi import BotApiStandin

READ_TIMEOUT = 1.0
CAP = 60
ALICE = 3001


@pytest.fixture
async def guarded_bot(standin: BotApiStandin, redis: Redis, valkey_url: str,
                      tmp_path: Path) -> AsyncIterator[LiveBot]:
    """run_bot in webhook mode with a 1 s read timeout and a cap of 60 connections."""
    settings = live_settings(standin, valkey_url, tmp_path / "data",
                             webhook_url="https://bot.example.org",
                             webhook_secret=secrets.token_urlsafe(24),
                             http_host="127.0.0.1", http_port=free_port(),
                             http_read_timeout=READ_TIMEOUT, http_max_connections=CAP)
    async for bot in _live(standin, settings, redis):
        yield bot


class Slow:
    """One raw connection that sends its request a byte at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.closed_after: float | None = None

    @classmethod
    async def open(cls, port: int, head: bytes) -> Slow:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head)
        await writer.drain()
        return cls(reader, writer)

    async def trickle(self, started: float, limit: float = 8.0, *, send: bool = True) -> None:
        """Send a byte every 0.2 s (or nothing, idle) until the server closes the connection
        (at most `limit` s)."""
        while time.monotonic() - started < limit:
            try:
                data = await asyncio.wait_for(self.reader.read(1024), 0.2)
            except TimeoutError:
                data = None
            except ConnectionError:
                data = b""
            if data == b"" or (data and self.reader.at_eof()):
                self.closed_after = time.monotonic() - started
                break
            try:
                if send:
                    self.writer.write(b"a")
                    await self.writer.drain()
            except ConnectionError:
                self.closed_after = time.monotonic() - started
                break
        self.writer.close()


def _session() -> aiohttp.ClientSession:
    """A client that opens a connection per request: a kept-alive one may be closed by the
    server's idle timeout (1 s here) just as the client reuses it."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))


async def _post_update(bot: LiveBot, http: aiohttp.ClientSession, user: int, words: str) -> int:
    settings = bot.settings
    assert settings.webhook_secret is not None
    secret = settings.webhook_secret.get_secret_value()
    url = f"http://127.0.0.1:{settings.http_port}{telegram_path(secret)}"
    update = bot.standin.make_message_update(user, words)
    async with http.post(url, json=update, headers={SECRET_HEADER: secret}) as resp:
        return resp.status


async def test_slow_headers_and_bodies_are_cut_while_updates_are_served(
        guarded_bot: LiveBot) -> None:
    port = guarded_bot.settings.http_port
    path = telegram_path("not the secret").encode()
    started = time.monotonic()
    # Slow headers, without any secret: the head never ends.
    heads = [await Slow.open(port, b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nX-Pad: ")
             for _ in range(30)]
    # Slow bodies: a whole head announcing 10 kB, then a byte at a time.
    bodies = [await Slow.open(port, b"POST " + path + b" HTTP/1.1\r\nHost: x\r\n"
                              b"Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{")
              for _ in range(10)]
    slow = heads + bodies
    trickling = [asyncio.create_task(s.trickle(started)) for s in slow]
    async with _session() as http:
        # Meanwhile a real update is taken and answered.
        assert await _post_update(guarded_bot, http, ALICE, "/start") == 200
        [reply] = await guarded_bot.standin.wait_sent(ALICE)
        assert "Kính chào đồng chí" in text(reply)
        await asyncio.gather(*trickling)
        closed = [s.closed_after for s in slow]
        assert all(c is not None and c < READ_TIMEOUT + 3.5 for c in closed), closed  # load
        # ...and still after they are gone.
        assert await _post_update(guarded_bot, http, ALICE, "/help") == 200
        await guarded_bot.standin.wait_sent(ALICE)


async def test_connections_over_the_cap_are_closed_and_the_server_recovers(
        guarded_bot: LiveBot) -> None:
    port = guarded_bot.settings.http_port
    started = time.monotonic()
    idle = [await Slow.open(port, b"") for _ in range(CAP + 40)]
    waiting = [asyncio.create_task(s.trickle(started, send=False)) for s in idle]
    await asyncio.gather(*waiting)
    closed = sorted(s.closed_after or 99.0 for s in idle)
    refused_at_once = [c for c in closed if c < 0.5]
    assert len(refused_at_once) >= 40, closed  # the surplus: dropped as soon as accepted
    assert closed[-1] < READ_TIMEOUT + 3.5, closed  # the rest: cut by the read timeout
    async with _session() as http:
        assert await _post_update(guarded_bot, http, ALICE, "/start") == 200
        await guarded_bot.standin.wait_sent(ALICE)


def test_the_cap_stays_under_the_descriptor_limit() -> None:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = connection_cap(10**9, redis_connections=200)
    assert cap <= max(8, soft - 200 - 64)
    assert connection_cap(50, redis_connections=200) <= 50
