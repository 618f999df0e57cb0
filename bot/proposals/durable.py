"""Wait until a write is on disk before telling a member it is saved.

WAITAOF (Redis ≥ 7.2, Valkey ≥ 8) blocks until the AOF holding our writes is fsynced. Servers
without it (or with AOF off) are detected once, logged once, and we fall back to WAIT for
replicas when there are any, else to the server's own persistence policy: a submission is
never refused because the server gives a weaker guarantee.
"""

from __future__ import annotations

import logging
from typing import Literal

from redis.asyncio import Redis
from redis.exceptions import ResponseError

log = logging.getLogger("dvbot.proposals.durable")

Mode = Literal["waitaof", "wait", "policy"]


class Durability:
    """Knows (after the first probe) how this server can confirm a write is durable."""

    def __init__(self, redis: Redis, timeout_ms: int = 2000) -> None:
        self._redis = redis
        self._timeout = timeout_ms
        self.mode: Mode | None = None  # probed on first use, then kept for the process

    async def probe(self, conn: Redis | None = None) -> Mode:
        """Find out which guarantee the server offers (once; logged when it is weaker). Runs
        on `conn` when given, so a burst of first submissions needs no extra connections."""
        if self.mode is not None:
            return self.mode
        try:
            await (conn or self._redis).execute_command(  # type: ignore[no-untyped-call]
                "WAITAOF", 1, 0, self._timeout)
            self.mode = "waitaof"
        except ResponseError as exc:
            replicas = await self._replicas(conn or self._redis)
            self.mode = "wait" if replicas else "policy"
            log.warning("the store cannot confirm fsync with WAITAOF (%s); submissions rely "
                        "on %s instead", exc, "WAIT for replicas" if replicas else
                        "the server's appendfsync policy")
        return self.mode

    async def wait(self, conn: Redis) -> bool:
        """Block until the writes made on `conn` (a single-connection client: WAITAOF counts
        the calling connection's own writes) are durable; False if the wait timed out (the
        write is kept either way: the server has it, only the fsync confirmation lags)."""
        mode = await self.probe(conn)
        if mode == "waitaof":
            local, _replicas = await conn.execute_command(  # type: ignore[no-untyped-call]
                "WAITAOF", 1, 0, self._timeout)
            return int(local) >= 1
        if mode == "wait":
            return int(await conn.execute_command(  # type: ignore[no-untyped-call]
                "WAIT", 1, self._timeout)) >= 1
        return True

    async def _replicas(self, client: Redis) -> int:
        # On a cluster `conn` is the key's own node (see bot.storage.pinned): its replicas count.
        info = await client.info("replication")
        return int(info.get("connected_slaves", 0))
