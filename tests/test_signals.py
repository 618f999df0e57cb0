"""Ctrl-C and SIGTERM stop dvbot cleanly, and the embedded Valkey goes down with it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.standin.botapi import BotApiStandin

DVBOT = str(Path(sys.executable).with_name("dvbot"))
DEMO_UNITS = Path(__file__).resolve().parent.parent / "content" / "demo" / "units.yaml"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVBOT_")}
    env.update(DVBOT_DATA_DIR=str(tmp_path / "data"), **extra)
    return env


async def _wait_for_output(process: asyncio.subprocess.Process, marker: bytes) -> bytes:
    assert process.stdout is not None
    seen = b""
    while marker not in seen:
        chunk = await asyncio.wait_for(process.stdout.read(4096), 20)
        assert chunk, f"process ended before printing {marker!r}: {seen!r}"
        seen += chunk
    return seen


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_console_stops_on_signal_while_waiting_for_input(tmp_path: Path,
                                                               signum: int) -> None:
    process = await asyncio.create_subprocess_exec(
        DVBOT, "console", "--demo", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=_env(tmp_path), cwd=tmp_path)
    await _wait_for_output(process, "Menu chính".encode())
    assert (tmp_path / "data" / "valkey" / "server.json").exists()
    process.send_signal(signum)
    code = await asyncio.wait_for(process.wait(), 15)  # stdin is still open: no EOF helps
    assert code == 130
    assert not (tmp_path / "data" / "valkey" / "server.json").exists()


def _cli(tmp_path: Path, *args: str) -> str:
    result = subprocess.run([DVBOT, *args], capture_output=True, text=True, env=_env(tmp_path),
                            cwd=tmp_path, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_run_stops_on_sigterm_and_keeps_data(tmp_path: Path) -> None:
    _cli(tmp_path, "units", "import", str(DEMO_UNITS))
    code = re.search(r"Mã mời: (\w+)", _cli(tmp_path, "invite", "create", "--unit", "so-yte-vp"))
    assert code is not None
    async with BotApiStandin() as api:
        env = _env(tmp_path, DVBOT_TELEGRAM_TOKEN=api.token, DVBOT_TELEGRAM_API_URL=api.url)
        process = await asyncio.create_subprocess_exec(
            DVBOT, "run", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            env=env, cwd=tmp_path)
        await api.wait_call("setMyCommands", timeout=20)
        api.user_sends(501, f"/start {code.group(1)}")
        await api.wait_sent(501, 1, timeout=10)
        api.user_sends(501, "Ngô Thị Bền")
        [welcome] = await api.wait_sent(501, 1, timeout=10)
        assert "Chào mừng" in welcome.text
        process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.wait_for(process.wait(), 20)
        assert process.stderr is not None
        log = (await process.stderr.read()).decode()
        assert exit_code == 0, log
        assert "dvbot stopped" in log
        assert api.token not in log
    assert not (tmp_path / "data" / "valkey" / "server.json").exists()
    # The member registered during the run was flushed to the AOF and is there next time.
    assert "Ngô Thị Bền\tso-yte-vp" in _cli(tmp_path, "members", "list")
