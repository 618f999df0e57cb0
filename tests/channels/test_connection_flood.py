"""The observation of the attack, replayed: a real `dvbot run` in webhook mode under a 1,024
file-descriptor limit, and 1,100 idle connections to it. Before, accept() started failing
(EMFILE) and the connections were held for an hour; now the surplus is closed on accept, the
rest after the read timeout, and the server answers again within seconds."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.channels.webhook import SECRET_HEADER, telegram_path
from tests.conftest import free_port
from tests.standin.botapi import BotApiStandin

DVBOT = str(Path(sys.executable).with_name("dvbot"))
FD_LIMIT = 1024
FLOOD = 1100
READ_TIMEOUT = 2


def _limit_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


async def _healthy(http: aiohttp.ClientSession, port: int) -> bool:
    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
        async with http.get(f"http://127.0.0.1:{port}/healthz",
                            timeout=aiohttp.ClientTimeout(total=1)) as resp:
            return resp.status == 200
    return False


@pytest.fixture
async def worker(redis: Redis, valkey_url: str, tmp_path: Path
                 ) -> AsyncIterator[tuple[int, str, BotApiStandin, asyncio.subprocess.Process]]:
    async with BotApiStandin() as standin:
        port, secret = free_port(), secrets.token_urlsafe(24)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DVBOT_")}
        env.update(DVBOT_REDIS_URL=valkey_url, DVBOT_TELEGRAM_TOKEN=standin.token,
                   DVBOT_TELEGRAM_API_URL=standin.url, DVBOT_DATA_DIR=str(tmp_path / "d"),
                   DVBOT_WEBHOOK_URL="https://bot.example.org", DVBOT_WEBHOOK_SECRET=secret,
                   DVBOT_HTTP_HOST="127.0.0.1", DVBOT_HTTP_PORT=str(port),
                   DVBOT_HTTP_READ_TIMEOUT=str(READ_TIMEOUT))
        process = await asyncio.create_subprocess_exec(
            DVBOT, "run", env=env, cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, preexec_fn=_limit_descriptors)
        try:
            async with aiohttp.ClientSession() as http:
                for _ in range(300):  # bounded: 15 s
                    assert process.returncode is None, "the worker died at start-up"
                    if await _healthy(http, port):
                        break
                    await asyncio.sleep(0.05)
                else:
                    raise AssertionError("the worker never became healthy")
            yield port, secret, standin, process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.communicate(), 30)


async def _open_idle(port: int) -> asyncio.StreamWriter | None:
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None
    return writer


async def test_a_connection_flood_at_the_descriptor_limit_passes(
        worker: tuple[int, str, BotApiStandin, asyncio.subprocess.Process]) -> None:
    port, secret, standin, process = worker
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < FLOOD + 200:  # the test's own side needs the descriptors
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, FLOOD + 500), hard))
    flood = [await _open_idle(port) for _ in range(FLOOD)]
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        while not await _healthy(http, port):  # bounded by the read timeout and then some
            assert time.monotonic() - started < READ_TIMEOUT + 5, "the server never recovered"
            await asyncio.sleep(0.1)
        update = standin.make_message_update(4242, "/start")
        url = f"http://127.0.0.1:{port}{telegram_path(secret)}"
        async with http.post(url, json=update, headers={SECRET_HEADER: secret}) as resp:
            assert resp.status == 200
        await standin.wait_sent(4242)
    for writer in flood:
        if writer is not None:
            writer.close()
    assert process.returncode is None
    process.send_signal(signal.SIGTERM)
    _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert b"Too many open files" not in err, err.decode(errors="replace")[-2000:]
    assert process.returncode == 0
