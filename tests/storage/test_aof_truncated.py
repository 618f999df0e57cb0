"""Silent data loss at start: when Valkey truncated a damaged AOF tail on start (19 of 20 members
loaded), dvbot logged nothing. Now the embedded store logs an ERROR and /healthz says so until
the next clean start. A real embedded Valkey, a real AOF damaged on disk."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.app import make_deps
from bot.ops.web import ops_server
from bot.settings import Settings
from bot.storage.embedded import EmbeddedValkey
from tests.conftest import free_port


async def _write_members(url: str, count: int) -> None:
    client = Redis.from_url(url, decode_responses=True)
    for number in range(1, count + 1):
        await client.set(f"dv:{{m:{number}}}", f'{{"id": "{number}", "name": "Đảng viên"}}')
    await client.aclose()


def _cut_the_tail(data_dir: Path, cut: int = 7) -> None:
    """What a crash mid-write leaves: the last command of the AOF incomplete."""
    [incr] = (data_dir / "valkey" / "appendonlydir").glob("*.incr.aof")
    size = incr.stat().st_size
    with incr.open("r+b") as handle:
        handle.truncate(size - cut)


async def _healthz(data_dir: Path, url: str) -> dict[str, str]:
    settings = Settings(_env_file=None, redis_url=url, data_dir=data_dir,  # type: ignore[call-arg]
                        http_host="127.0.0.1", http_port=free_port())
    client = Redis.from_url(url, decode_responses=True)
    address = f"http://127.0.0.1:{settings.http_port}/healthz"
    try:
        async with ops_server(make_deps(settings, client), []), \
                aiohttp.ClientSession() as http, http.get(address) as resp:
            assert resp.status == 200  # still serving: the loss is reported, not fatal
            body: dict[str, str] = await resp.json()
            return body
    finally:
        await client.aclose()


async def test_a_truncated_aof_is_reported_in_the_log_and_healthz(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data_dir = tmp_path / "data"
    async with EmbeddedValkey(data_dir) as store:
        assert store.url is not None
        await _write_members(store.url, 20)
    _cut_the_tail(data_dir)

    caplog.set_level(logging.ERROR, logger="dvbot.store")
    async with EmbeddedValkey(data_dir) as store:
        assert store.url is not None
        client = Redis.from_url(store.url)
        assert await client.dbsize() == 19  # the last member is gone
        await client.aclose()
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and "LOST" in errors[0].getMessage()
        assert "Truncating the AOF" in errors[0].getMessage()
        health = await _healthz(data_dir, store.url)
        assert "đã bị mất" in health.get("store", "") and health["status"] == "degraded"

    caplog.clear()
    async with EmbeddedValkey(data_dir) as store:  # a clean start: nothing more to say
        assert store.url is not None
        assert not [r for r in caplog.records if r.levelno == logging.ERROR]
        assert "store" not in await _healthz(data_dir, store.url)
