"""The consumer side of delivery: claim deliveries, record what happened, finish jobs.

Every step is idempotent, so at-least-once processing gives exactly-once sends: a delivery
whose member is already in the job's sent set is acknowledged without sending again.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.delivery.missed import SEALED_MARK
from bot.delivery.models import Delivery, Job, StoredMessage
from bot.delivery.outbox import (
    ADDRESS_SEAL,
    GROUP,
    REPORT_TTL,
    SENDING,
    report_keys,
)
from bot.privacy.seal import Sealer
from bot.storage.keys import Keys

RECLAIM_BATCH = 20
PROMOTE_BATCH = 200
OnDone = Callable[[str], Awaitable[None]]  # after-job hook, given the job id
STALE_ACTIVATION = 600.0  # seconds an activated job may wait for its expansion

# KEYS: sent, parts, stats. ARGV: member, group. 1 when newly recorded.
_MARK_SENT = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[3], 'sent', 1)
if ARGV[2] ~= '' then redis.call('HINCRBY', KEYS[3], 'sent:' .. ARGV[2], 1) end
return 1
"""

# KEYS: failed, stats, sent. ARGV: member, group, reason, counter ("blocked" or "failed").
_MARK_FINAL = """
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then return 0 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[3]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
if ARGV[2] ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[4] .. ':' .. ARGV[2], 1) end
return 1
"""

# KEYS: meta, queue, retry. ARGV: entry id, delivery JSON, delay (s), now (s).
# Replaces a claimed entry by a fresh one (now, or after a backoff) in one step.
_REQUEUE = """
redis.call('XACK', KEYS[2], 'send', ARGV[1])
redis.call('XDEL', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'state') ~= 'sending' then return 0 end
if tonumber(ARGV[3]) <= 0 then
  local d = cjson.decode(ARGV[2])
  redis.call('XADD', KEYS[2], '*', 'm', d.m, 'a', d.a, 'g', d.g, 'n', tostring(d.n))
else
  redis.call('ZADD', KEYS[3], tonumber(ARGV[4]) + tonumber(ARGV[3]), ARGV[2])
end
return 1
"""

# KEYS: meta, queue, retry. ARGV: now, limit. Moves retries whose backoff has passed back
# into the stream.
_PROMOTE = """
if redis.call('HGET', KEYS[1], 'state') ~= 'sending' then return 0 end
local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, item in ipairs(due) do
  local d = cjson.decode(item)
  redis.call('XADD', KEYS[2], '*', 'm', d.m, 'a', d.a, 'g', d.g, 'n', tostring(d.n))
  redis.call('ZREM', KEYS[3], item)
end
return #due
"""

# KEYS: meta, then queue/retry pairs, then report keys. ARGV: number of queue/retry keys,
# ttl, now. A job is done when no stream entry (unread or pending) and no retry is left.
_FINISH = """
if redis.call('HGET', KEYS[1], 'state') ~= 'sending' then return 0 end
local n = tonumber(ARGV[1])
for i = 2, 1 + n, 2 do
  if redis.call('XLEN', KEYS[i]) > 0 or redis.call('ZCARD', KEYS[i + 1]) > 0 then return 0 end
end
redis.call('HSET', KEYS[1], 'state', 'done', 'done_at', ARGV[3])
for i = 2, 1 + n do redis.call('DEL', KEYS[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
for i = 2 + n, #KEYS do redis.call('EXPIRE', KEYS[i], ARGV[2]) end
return 1
"""


class DeliveryQueue:
    """One process's view of the delivery streams of one channel, as consumer `consumer`."""

    def __init__(self, redis: Redis, keys: Keys, channel: str, consumer: str, *,
                 lease: float = 30.0, poll: float = 0.5,
                 clock: Callable[[], float] = time.time, sealer: Sealer | None = None) -> None:
        self.channel = channel
        self._sealer = sealer
        self.consumer = consumer
        self._redis = redis
        self._keys = keys
        self._lease = lease
        self._poll = poll
        self._clock = clock
        self._buffer: deque[Delivery] = deque()
        self._jobs: list[str] = []
        self._jobs_at = self._reclaim_at = self._promote_at = 0.0
        self._turn = 0
        self._cache: dict[str, Job] = {}
        self._mark_sent = redis.register_script(_MARK_SENT)
        self._mark_final = redis.register_script(_MARK_FINAL)
        self._requeue = redis.register_script(_REQUEUE)
        self._promote = redis.register_script(_PROMOTE)
        self._finish = redis.register_script(_FINISH)

    # ------------------------------------------------------------------ claiming
    async def next(self) -> Delivery | None:
        """The next delivery for this consumer: stale claims first, then new entries."""
        if self._buffer:
            return self._buffer.popleft()
        jobs = await self._active()
        now = self._clock()
        if now >= self._promote_at:
            self._promote_at = now + min(self._poll, 1.0)
            for job_id in jobs:
                await self._promote(keys=self._job_keys(job_id), args=[now, PROMOTE_BATCH])
        if now >= self._reclaim_at:
            self._reclaim_at = now + self._lease / 4
            for job_id in jobs:
                await self._reclaim(job_id)
            if self._buffer:
                return self._buffer.popleft()
        for step in range(len(jobs)):
            job_id = jobs[(self._turn + step) % len(jobs)]
            found = await self._read(job_id)
            if found is not None:
                self._turn = (self._turn + step + 1) % len(jobs)
                return found
        return None

    async def _active(self) -> list[str]:
        now = self._clock()
        if now >= self._jobs_at:
            raw = await self._redis.zrange(self._keys.jobs_active(self.channel), 0, -1)
            self._jobs, self._jobs_at = [str(j) for j in raw], now + self._poll
        return self._jobs

    async def _read(self, job_id: str) -> Delivery | None:
        stream = self._keys.job_queue(job_id, self.channel)
        try:
            reply: Any = await self._redis.xreadgroup(GROUP, self.consumer, {stream: ">"},
                                                      count=1)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self._forget(job_id)  # finished or cancelled: its stream is gone
            return None
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                return _delivery(job_id, str(entry_id), fields)
        return None

    async def _reclaim(self, job_id: str) -> None:
        """Take over entries another consumer claimed and left (it crashed or hung)."""
        stream = self._keys.job_queue(job_id, self.channel)
        try:
            reply = await self._redis.xautoclaim(stream, GROUP, self.consumer,
                                                 min_idle_time=int(self._lease * 1000),
                                                 start_id="0-0", count=RECLAIM_BATCH)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            return
        for entry_id, fields in reply[1]:
            if fields:  # entries deleted while pending come back empty
                self._buffer.append(_delivery(job_id, str(entry_id), fields))

    async def _forget(self, job_id: str) -> None:
        state = await self._redis.hget(self._keys.job(job_id), "state")
        if state is None or state == SENDING:
            return  # not expanded yet (or a race): keep it
        await self._redis.zrem(self._keys.jobs_active(self.channel), job_id)
        await self._redis.delete(*self._job_keys(job_id)[1:])
        self._jobs = [j for j in self._jobs if j != job_id]

    # ---------------------------------------------------------------- job facts
    async def job(self, job_id: str) -> Job | None:
        """The job's messages and lane (cached: they never change), or None if it is gone."""
        cached = self._cache.get(job_id)
        if cached is not None:
            return cached
        raw = await self._redis.hmget(self._keys.job(job_id), ["messages", "paid", "sealed"])
        if raw[0] is None:
            return None
        messages = tuple(StoredMessage.model_validate(m) for m in json.loads(raw[0]))
        job = Job(messages, raw[1] == "1", raw[2] == "1")
        if len(self._cache) > 64:  # a handful of jobs run at once; keep memory flat
            self._cache.clear()
        self._cache[job_id] = job
        return job

    async def begin(self, d: Delivery) -> int | None:
        """How many parts were already sent to this member, or None when there is nothing to
        do (job stopped, member already served or already failed)."""
        k = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(k.job(d.job_id), "state")
            pipe.sismember(k.job_sent(d.job_id), d.member_id)
            pipe.hexists(k.job_failed(d.job_id), d.member_id)
            pipe.hget(k.job_parts(d.job_id), d.member_id)
            state, sent, failed, parts = await pipe.execute()
        if state != SENDING or sent or failed:
            return None
        return int(parts or 0)

    def address(self, d: Delivery) -> str:
        """Where to send: the chat address, opened if the job is sealed."""
        if d.address[:1] != SEALED_MARK:
            return d.address
        if self._sealer is None:
            raise ValueError("a sealed job needs the queue's sealer")
        return self._sealer.open_text(ADDRESS_SEAL, d.address[1:], d.job_id)

    def chat_key(self, d: Delivery) -> str:
        """The chat as the shared rate limiter names it: a keyed pseudonym when a sealer is
        set, so the limiter's keys do not list who a sealed job (a reminder) went to."""
        address = self.address(d)
        return self._sealer.tag("chat", address) if self._sealer is not None else address

    # ---------------------------------------------------------------- recording
    async def mark_part(self, d: Delivery, done: int) -> None:
        """Remember that the first `done` parts of a multi-part job went out."""
        await self._redis.hset(self._keys.job_parts(d.job_id), d.member_id, done)

    async def mark_sent(self, d: Delivery) -> bool:
        """The member got everything: add to the sent set and count (once)."""
        k = self._keys
        # Two calls, not one pipeline: redis-py's cluster client cannot pipeline a script.
        first = await self._mark_sent(keys=[k.job_sent(d.job_id), k.job_parts(d.job_id),
                                            k.job_stats(d.job_id)],
                                      args=[d.member_id, d.group])
        if d.member_id[:1] != SEALED_MARK:
            await self._redis.hdel(k.unreachable(), d.member_id)  # reachable again, if marked
        return bool(first)

    async def mark_final(self, d: Delivery, reason: str, counter: str) -> bool:
        """The member cannot be reached: record the reason, count it, mark them unreachable."""
        k = self._keys
        first = await self._mark_final(
            keys=[k.job_failed(d.job_id), k.job_stats(d.job_id), k.job_sent(d.job_id)],
            args=[d.member_id, d.group, reason, counter])
        if d.member_id[:1] != SEALED_MARK:  # a sealed job knows no member to mark
            await self._redis.hset(k.unreachable(), d.member_id, f"{self.channel}:{reason}")
        return bool(first)

    async def ack(self, d: Delivery) -> None:
        """Finish with the entry: acknowledge and delete it, so the stream only holds work."""
        stream = self._keys.job_queue(d.job_id, self.channel)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(stream, GROUP, d.entry_id)
            pipe.xdel(stream, d.entry_id)
            await pipe.execute()

    async def requeue(self, d: Delivery, delay: float = 0.0) -> None:
        """Give the delivery back: at once (after a 429, or when stopping), or after a backoff."""
        await self._requeue(keys=self._job_keys(d.job_id),
                            args=[d.entry_id, d.as_json(), delay, self._clock()])

    async def finish_idle(self, on_done: OnDone | None = None) -> list[str]:
        """Mark jobs with nothing left as done; returns their ids. `on_done` runs for each
        while the job is still listed as active, so whatever it enqueues (the author's "sent"
        notice) is already due before anyone watching the active set sees it empty."""
        finished: list[str] = []
        for job_id in await self._active():
            channels = str(await self._redis.hget(self._keys.job(job_id), "channels") or "")
            queues = [key for c in channels.split(",") if c
                      for key in (self._keys.job_queue(job_id, c), self._keys.job_retry(job_id, c))]
            if not queues:
                await self._drop_if_stale(job_id)
                continue
            keys = [self._keys.job(job_id), *queues, *report_keys(self._keys, job_id)]
            if await self._finish(keys=keys, args=[len(queues), REPORT_TTL, self._clock()]):
                finished.append(job_id)
                if await self._redis.hget(self._keys.job(job_id), "sealed") == "1":
                    # Served: even the random tokens of who got it go, only the counts stay.
                    await self._redis.delete(*report_keys(self._keys, job_id)[:-1])
                if on_done is not None:
                    await on_done(job_id)
            await self._forget(job_id)
        return finished

    async def _drop_if_stale(self, job_id: str) -> None:
        """An activated job that was never expanded (its producer died in between): drop it
        once the producer cannot still be working on it."""
        since = await self._redis.zscore(self._keys.jobs_active(self.channel), job_id)
        if since is not None and self._clock() - since > STALE_ACTIVATION:
            await self._redis.zrem(self._keys.jobs_active(self.channel), job_id)

    def _job_keys(self, job_id: str) -> list[str]:
        return [self._keys.job(job_id), self._keys.job_queue(job_id, self.channel),
                self._keys.job_retry(job_id, self.channel)]



def _delivery(job_id: str, entry_id: str, fields: dict[str, str]) -> Delivery:
    return Delivery(job_id, entry_id, fields["m"], fields["a"], fields.get("g", ""),
                    int(fields.get("n", 0)))
