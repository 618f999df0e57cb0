"""Scheduled jobs: fire each one once, cluster-wide, within a tick of its time — restarts too.

A due job is moved atomically from the due set to the firing set with a lease; only the
process whose script moved it fires it. If that process dies before it is done, the lease
runs out and another scheduler fires it again; firing is idempotent (`Outbox.enqueue`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from redis.asyncio import Redis

from bot.delivery.worker import pause
from bot.storage.keys import Keys

log = logging.getLogger("dvbot.schedule")

Fire = Callable[[str], Awaitable[None]]

# KEYS: due, firing. ARGV: now, lease end, limit. Returns the job ids this caller must fire.
_CLAIM = """
local out = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], ARGV[2], id)
  table.insert(out, id)
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(stale) do
  redis.call('ZADD', KEYS[2], ARGV[2], id)
  table.insert(out, id)
end
return out
"""


def by_kind(handlers: Mapping[str, Fire]) -> Fire:
    """One fire function that routes "bc-42" to handlers["bc"]."""

    async def fire(job_id: str) -> None:
        """Call the handler of the job's kind."""
        kind = job_id.split("-", 1)[0]
        handler = handlers.get(kind)
        if handler is None:
            log.error("no handler for scheduled job %s; dropping it", job_id)
            return
        await handler(job_id)

    return fire


class Scheduler:
    """Polls the due set every `tick` seconds and fires what is due."""

    def __init__(self, redis: Redis, keys: Keys, fire: Fire, clock: Callable[[], datetime], *,
                 tick: float = 1.0, lease: float = 60.0, batch: int = 20) -> None:
        self._redis = redis
        self._keys = keys
        self._fire = fire
        self._clock = clock
        self._tick = tick
        self._lease = lease
        self._batch = batch
        self._claim = redis.register_script(_CLAIM)

    async def run(self, stop: asyncio.Event) -> None:
        """Fire due jobs until `stop` is set."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed; trying again")
            await pause(stop, self._tick)

    async def tick(self) -> list[str]:
        """Fire every job due now; returns the ids fired by this process."""
        now = self._clock().timestamp()
        claimed = [str(j) for j in await self._claim(
            keys=[self._keys.jobs_due(), self._keys.jobs_firing()],
            args=[now, now + self._lease, self._batch])]
        fired: list[str] = []
        for job_id in claimed:
            try:
                await self._fire(job_id)
            except Exception:
                # Left in the firing set: fired again when the lease runs out.
                log.exception("firing %s failed; retrying in %.0f s", job_id, self._lease)
                continue
            await self._redis.zrem(self._keys.jobs_firing(), job_id)
            fired.append(job_id)
        return fired
