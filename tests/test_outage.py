"""Redis briefly down: a short restart loses nothing; a longer outage gets a polite answer."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import wording
from bot.deps import Links, build_deps
from bot.engine.dispatcher import Dispatcher
from bot.engine.errors import handle_safely
from bot.engine.messages import Incoming
from bot.org.models import Unit
from bot.settings import Settings
from bot.storage.connection import connect
from bot.storage.keys import Keys
from handlers import build_router
from tests.conftest import free_port, start_valkey


class Server:
    """A private Valkey with AOF that a test can stop and start on the same port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = start_valkey(self.directory, self.port, "--appendonly", "yes")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path)
    srv.start()
    yield srv
    srv.stop()


async def _setup(server: Server, tmp_path: Path) -> Dispatcher:
    url = f"redis://127.0.0.1:{server.port}/0"
    settings = Settings(_env_file=None, redis_url=url, data_dir=tmp_path)  # type: ignore[call-arg]
    deps = build_deps(settings, connect(url), Keys(), Links())
    await deps.units.import_units([Unit(id="cb", name="Chi bộ Thử", kind="chi_bo")])
    await deps.members.register(channel="telegram", user_id="1", name="Lê Văn Bền", unit="cb",
                                grants=[], now=deps.clock())
    return Dispatcher(build_router(), deps)


def _me() -> Incoming:
    return Incoming(channel="telegram", user_id="1", chat_id="1", text="/me")


async def test_short_restart_is_ridden_out(server: Server, tmp_path: Path) -> None:
    dispatcher = await _setup(server, tmp_path)
    server.stop()
    handling = asyncio.create_task(handle_safely(dispatcher, _me()))
    await asyncio.sleep(0.4)  # the update arrives while the store is down
    server.start()
    replies = await asyncio.wait_for(handling, 15)
    assert "Lê Văn Bền" in replies[0].text  # answered normally once the store was back
    await dispatcher.deps.redis.aclose()


async def test_longer_outage_gets_a_polite_answer(server: Server, tmp_path: Path) -> None:
    dispatcher = await _setup(server, tmp_path)
    server.stop()
    replies = await asyncio.wait_for(handle_safely(dispatcher, _me()), 30)
    assert [r.text for r in replies] == [wording.STORE_DOWN]
    server.start()
    replies = await handle_safely(dispatcher, _me())
    assert "Lê Văn Bền" in replies[0].text  # and it recovers by itself
    await dispatcher.deps.redis.aclose()
