"""Lock releases batched across accounts: one round trip lets go of many locks.

An update that changed no state has nothing to write but its lock to give back. Rather than a
round trip of its own, that release joins a batch: one flusher sends every pending release in
one pipeline, one batch in flight at a time, so under load many accounts share each trip (and
at rest a batch of one goes out at once). A release still pending when the same account's next
update starts in this process is taken back instead: the lock never left, and the new holder
renews its lease in the round trip that reads its state.

Each release may also refresh the TTL of keys the update kept unchanged (the open dialog), as
writing them would have, and record the account's last interaction (at most hourly). Releases
are compare-and-delete, so a late one never frees a lock that expired and was taken by someone
else; if Redis is unreachable the leases end the locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("dvbot.unlocks")

# Delete the lock only if we still own it: a lock that expired and was retaken by another
# worker must not be released by us.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Extend the lease of a lock we still own (a lock taken back before its release went out).
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@dataclass(frozen=True)
class Pending:
    """A lock to give back, and keys whose TTL to refresh first."""

    token: str
    touch: tuple[str, ...] = ()
    ttl: int = 0
    seen: tuple[str, str, float] | None = None  # (sorted set, member, score): ZADD GT


class Unlocks:
    """Pending releases of one process, flushed in batches (see the module docstring)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._pending: dict[str, Pending] = {}
        self._carried: dict[str, tuple[str, str, float]] = {}
        self._in_flight: frozenset[str] = frozenset()
        self._landed: asyncio.Event | None = None  # set when the batch in flight has landed
        self._flusher: asyncio.Task[None] | None = None
        self.batches = self.released = 0  # how well releases are shared (the benchmark)

    def release(self, lock: str, token: str, *, touch: tuple[str, ...] = (),
                ttl: int = 0, seen: tuple[str, str, float] | None = None) -> None:
        """Give `lock` back with the next batch, first refreshing `touch` to `ttl` seconds
        (and recording `seen`, an account's last interaction, in the same trip)."""
        self._pending[lock] = Pending(token, touch, ttl, seen or self._carried.pop(lock, None))
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    def take_back(self, lock: str) -> str | None:
        """The token of `lock` if its release has not gone out yet (the lock is still ours)."""
        pending = self._pending.pop(lock, None)
        if pending is None:
            return None
        if pending.seen is not None:  # goes out with this lock's next release instead
            self._carried[lock] = pending.seen
        return pending.token

    def carried(self, lock: str) -> tuple[str, str, float] | None:
        """The interaction a taken-back release was to record (for a release written now)."""
        return self._carried.pop(lock, None)

    async def settled(self, lock: str) -> None:
        """Wait until a release of `lock` that is on its way has landed."""
        landed = self._landed
        if lock in self._in_flight and landed is not None:
            await landed.wait()

    async def settle(self) -> None:
        """Wait until every release made so far has been sent."""
        if self._flusher is not None:
            with contextlib.suppress(RedisError):
                await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                self._in_flight, self._landed = frozenset(batch), asyncio.Event()
                try:
                    await self._send(batch)
                except RedisError as exc:
                    log.warning("could not release %d lock(s), their leases will: %s",
                                len(batch), exc)
                finally:
                    self._landed.set()
                self.batches += 1
                self.released += len(batch)
        finally:
            self._in_flight, self._landed, self._flusher = frozenset(), None, None

    async def _send(self, batch: dict[str, Pending]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for lock, pending in batch.items():
                for key in pending.touch:
                    pipe.expire(key, pending.ttl)
                if pending.seen is not None:
                    key, member, score = pending.seen
                    pipe.zadd(key, {member: score}, gt=True)
                pipe.eval(RELEASE, 1, lock, pending.token)
            await pipe.execute()
