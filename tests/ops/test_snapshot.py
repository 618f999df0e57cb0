"""Where a backup reads from. A server that refuses SYNC (a managed service; here a real ACL user
without it) gets the fallback: CLIENT PAUSE WRITE for at most 2 s, lifted by the server itself,
so even an export that hangs (or is killed) holds writes no longer than that."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from bot.ops.point_in_time import PAUSE_MS, point_in_time
from bot.ops.snapshot import SnapshotUnavailable, endpoints
from bot.storage.connection import connect


@pytest.fixture
async def no_sync_client(redis: Redis, valkey_url: str) -> AsyncIterator[Redis]:
    """A client logged in as a user who may do everything but SYNC/PSYNC."""
    user, password = f"nosync{secrets.token_hex(3)}", secrets.token_hex(8)
    await redis.execute_command("ACL", "SETUSER", user, "on", f">{password}", "~*", "&*",
                                "+@all", "-sync", "-psync")
    parts = urlsplit(valkey_url)
    client = connect(f"redis://{user}:{password}@{parts.hostname}:{parts.port}/0")
    yield client
    await client.aclose()
    await redis.execute_command("ACL", "DELUSER", user)


async def test_without_sync_the_pause_is_short_and_lifts_itself(
        redis: Redis, no_sync_client: Redis, valkey_url: str, tmp_path: Path) -> None:
    await redis.set("dv:a", "1")
    other = connect(valkey_url)
    async with point_in_time(no_sync_client, tmp_path / "scratch") as source:
        assert source.how == "pause"
        started = time.monotonic()
        # The export "hangs" (or was killed): a writer still gets through once the
        # server lifts the pause by itself.
        await asyncio.wait_for(other.set("dv:b", "2"), 5)
        waited = time.monotonic() - started
        assert 0.5 < waited <= PAUSE_MS / 1000 + 0.5, waited
        assert not source.consistent  # the copy can no longer claim one instant
    await other.aclose()
    assert not (tmp_path / "scratch").exists()


async def test_a_small_store_is_consistent_under_the_short_pause(
        redis: Redis, no_sync_client: Redis, tmp_path: Path) -> None:
    await redis.set("dv:a", "1")
    async with point_in_time(no_sync_client, tmp_path / "scratch") as source:
        assert source.how == "pause"
        assert await source.clients[0].get("dv:a") == "1"
        assert source.consistent


def test_endpoints_follow_the_client_settings() -> None:
    plain = Redis.from_url("redis://user:pw@db.example:6380/0")
    [point] = endpoints(plain)
    assert (point.host, point.port, point.username, point.password, point.tls) == (
        "db.example", 6380, "user", "pw", False)
    tls = Redis.from_url("rediss://:pw@db.example:6390/0?ssl_cert_reqs=none")
    [secure] = endpoints(tls)
    assert secure.tls and not secure.verify
    context = secure.ssl_context()
    assert context is not None and not context.check_hostname
    with pytest.raises(SnapshotUnavailable):
        endpoints(Redis(unix_socket_path="/tmp/nowhere.sock"))
