"""Who still uses the embedded Valkey: one named connection per dvbot process.

Every dvbot process names its connections `dvbot:<pid>` and holds one of them open from start to
stop, so the last process to leave (and only it) shuts the shared server down.
"""

from __future__ import annotations

import contextlib
import logging
import os

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bot.storage.valkey_process import (
    CLIENT_NAME_PREFIX,
    HOST,
    PROBE_TIMEOUT,
    pid_alive,
    pid_from_client_name,
)

log = logging.getLogger("dvbot.store")

ADMIN_TIMEOUT = 10.0  # SHUTDOWN fsyncs the AOF before replying, so allow time


def client_name_for_pid(pid: int | None = None) -> str:
    """Return the Redis connection name dvbot uses for process ``pid`` (default: this one)."""
    return f"{CLIENT_NAME_PREFIX}{os.getpid() if pid is None else pid}"


class Presence:
    """The named connection that marks this process as a user of the server."""

    def __init__(self, client_name: str) -> None:
        self.client_name = client_name
        self._connection: Redis | None = None
        self._id: int | None = None

    async def open(self, port: int, password: str) -> None:
        """Open the connection; a failure is only logged (the app's connections count too)."""
        connection = Redis(
            host=HOST,
            port=port,
            password=password,
            client_name=self.client_name,
            socket_connect_timeout=PROBE_TIMEOUT,
            socket_timeout=ADMIN_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
            single_connection_client=True,
        )
        try:
            self._id = int(await connection.client_id())
        except (RedisError, OSError) as exc:
            log.warning("could not register with embedded valkey: %s", exc)
            await connection.aclose()
            return
        self._connection = connection

    async def close(self) -> None:
        """Drop the connection."""
        connection, self._connection, self._id = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(RedisError, OSError, RuntimeError):
                await connection.aclose()

    async def other_users(self, client: Redis) -> set[int]:
        """Return pids of other live dvbot processes connected to the server."""
        me = os.getpid()
        pids: set[int] = set()
        for entry in await client.client_list():
            if self._id is not None and str(entry.get("id")) == str(self._id):
                continue
            pid = pid_from_client_name(str(entry.get("name", "")))
            # A connection can outlive its process (e.g. inherited by a child),
            # so only count processes that are still running.
            if pid is not None and pid != me and pid_alive(pid):
                pids.add(pid)
        return pids
