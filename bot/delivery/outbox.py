"""The producer side of delivery: expand a job into streams, schedule, cancel, count, confirm.

Any flow can use it: `await outbox.enqueue(job_id, recipients, replies)`. Job ids are
deterministic (e.g. "bc-42"), so repeating a call after a crash changes nothing.

A `sealed` job (survey notices and reminders: who is reminded is who has not answered) keeps
no list of its recipients: each delivery carries a random token instead of the member id and
the chat address sealed with the deployment secret, report groups are dropped, and the
per-recipient bookkeeping is deleted as soon as the job is done (see `DeliveryQueue`).
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from bot.delivery.missed import SEALED_MARK, Missed
from bot.delivery.models import JobStats, Recipient, StoredMessage
from bot.delivery.reach import BILLED, OFFER_LATER, Reach
from bot.delivery.sender import NO_ACCOUNT
from bot.engine.messages import Reply
from bot.privacy.seal import Sealer
from bot.storage.keys import Keys

GROUP = "send"  # the consumer group every sender worker reads through
REPORT_TTL = 180 * 86_400  # a finished job's counters and recipient lists are kept this long
SENDING, DONE, CANCELLED = "sending", "done", "cancelled"
ADDRESS_SEAL = "outbox-address"  # sealing purpose of the addresses of sealed jobs

# KEYS: rcpt, ack, stats. ARGV: member. -1: not a recipient, 0: already confirmed, 1: counted.
_CONFIRM = """
local group = redis.call('HGET', KEYS[1], ARGV[1])
if not group then return -1 end
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[3], 'confirmed', 1)
if group ~= '' then redis.call('HINCRBY', KEYS[3], 'confirmed:' .. group, 1) end
return 1
"""

# KEYS: meta, stats, then every queue/retry key, then the report keys to expire.
# ARGV: number of queue/retry keys, ttl. Returns the state the job had before.
_CANCEL = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'done' or state == 'cancelled' then return state end
redis.call('HSET', KEYS[1], 'state', 'cancelled')
if state then
  local s = redis.call('HMGET', KEYS[2], 'total', 'sent', 'failed', 'blocked')
  local left = (tonumber(s[1]) or 0) - (tonumber(s[2]) or 0) - (tonumber(s[3]) or 0)
               - (tonumber(s[4]) or 0)
  redis.call('HSET', KEYS[2], 'cancelled', math.max(0, left))
end
local n = tonumber(ARGV[1])
for i = 3, 2 + n do redis.call('DEL', KEYS[i]) end
for i = 1, #KEYS do
  if i < 3 or i > 2 + n then redis.call('EXPIRE', KEYS[i], ARGV[2]) end
end
return state or ''
"""

# KEYS: meta, the new channel's queue. ARGV: channel, group name, member, address, report group.
# Adds one delivery on another channel to a job still sending; 0 when it is not.
_ADD = """
if redis.call('HGET', KEYS[1], 'state') ~= 'sending' then return 0 end
local channels = redis.call('HGET', KEYS[1], 'channels') or ''
if not string.find(',' .. channels .. ',', ',' .. ARGV[1] .. ',', 1, true) then
  redis.call('HSET', KEYS[1], 'channels', channels == '' and ARGV[1] or channels .. ',' .. ARGV[1])
  pcall(redis.call, 'XGROUP', 'CREATE', KEYS[2], ARGV[2], '0', 'MKSTREAM')
end
redis.call('XADD', KEYS[2], '*', 'm', ARGV[3], 'a', ARGV[4], 'g', ARGV[5], 'n', '0')
return 1
"""


class Outbox:
    """Jobs of many deliveries: expansion, schedule, cancellation, counters, confirmations."""

    def __init__(self, redis: Redis, keys: Keys, sealer: Sealer | None = None,
                 reach: Reach | None = None) -> None:
        self._redis = redis
        self._keys = keys
        self._sealer = sealer
        # How every job's recipients are made (`reach.recipients`, bot.delivery.address).
        self.reach = reach or Reach(redis, keys)
        self.missed = Missed(redis, keys, sealer)
        self._confirm = redis.register_script(_CONFIRM)
        self._cancel = redis.register_script(_CANCEL)
        self._add = redis.register_script(_ADD)

    async def enqueue(self, job_id: str, recipients: Sequence[Recipient],
                      messages: Sequence[Reply], *, paid: bool = False,
                      sealed: bool = False) -> bool:
        """Expand a job into one delivery stream per channel, atomically; False when it was
        expanded (or cancelled) before. Every Reply is one platform message per recipient;
        `sealed` keeps no trace of who the recipients are (see the module docstring)."""
        later = [r.member_id for r in recipients
                 if r.channel is None and r.reason in OFFER_LATER]
        if sealed:
            recipients = self._sealed(job_id, recipients)
        channels = sorted({r.channel for r in recipients if r.channel})
        # Activate first: a crash before the expansion leaves an inert entry the workers drop,
        # while the reverse order could leave expanded deliveries nobody ever reads.
        for channel in channels:
            await self._redis.zadd(self._keys.jobs_active(channel), {job_id: time.time()},
                                   nx=True)
        meta = self._keys.job(job_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(meta)
                if await pipe.hexists(meta, "state"):
                    return False
                pipe.multi()  # type: ignore[no-untyped-call]
                self._expand(pipe, job_id, channels, recipients, messages, paid, sealed)
                await pipe.execute()
            except WatchError:
                return False  # another process expanded (or cancelled) it meanwhile
        await self.keep_for_later(job_id, later, sealed=sealed)
        return True

    async def reroute(self, job_id: str, r: Recipient) -> bool:
        """Hand a member of a job still sending to another channel (the first one failed them
        for good); False when the job is no longer sending."""
        assert r.channel is not None
        await self._redis.zadd(self._keys.jobs_active(r.channel), {job_id: time.time()},
                               nx=True)
        added = await self._add(keys=[self._keys.job(job_id),
                                      self._keys.job_queue(job_id, r.channel)],
                                args=[r.channel, GROUP, r.member_id, r.address, r.group])
        if added and r.cost == BILLED:
            await self._redis.hincrby(self._keys.job_stats(job_id), "billed", 1)
        return bool(added)

    async def keep_for_later(self, job_id: str, member_ids: Sequence[str], *,
                             sealed: bool = False) -> None:
        """Remember a job for members it could not reach now, to offer it when they next
        write (bot.delivery.missed says what is never kept)."""
        await self.missed.keep(job_id, member_ids, sealed=sealed)

    async def pending(self, member_id: str) -> list[str]:
        """Jobs the member missed (oldest first) that still have their messages."""
        return await self.missed.pending(member_id)

    async def messages(self, job_id: str) -> list[Reply]:
        """A job's messages, as its recipients got them."""
        raw = await self._redis.hget(self._keys.job(job_id), "messages")
        if not raw:
            return []
        return [StoredMessage.model_validate(m).reply() for m in json.loads(raw)]

    async def forget_pending(self, member_id: str, job_ids: Sequence[str]) -> None:
        """The member has now seen these."""
        await self.missed.forget(member_id, job_ids)

    def _expand(self, pipe: Any, job_id: str, channels: list[str],
                recipients: Sequence[Recipient], messages: Sequence[Reply], paid: bool,
                sealed: bool = False) -> None:
        keys = self._keys
        stored = "[" + ",".join(StoredMessage.of(m).model_dump_json() for m in messages) + "]"
        # With nobody to send to (everyone lacks an account) the job is finished at once.
        pipe.hset(keys.job(job_id), mapping={
            "state": SENDING if channels else DONE, "messages": stored, "paid": int(paid),
            "channels": ",".join(channels), "created": time.time(),
            "sealed": int(sealed)})
        for channel in channels:
            pipe.xgroup_create(keys.job_queue(job_id, channel), GROUP, id="0", mkstream=True)
        stats: Counter[str] = Counter()
        failed: dict[str, str] = {}
        for r in recipients:
            stats.update(_counted("total", r.group))
            if r.channel is None:
                if not sealed:
                    failed[r.member_id] = r.reason or NO_ACCOUNT
                stats.update(_counted("failed", r.group))
                continue
            if r.cost == BILLED:
                stats.update(_counted("billed", r.group))
            pipe.xadd(keys.job_queue(job_id, r.channel),
                      {"m": r.member_id, "a": r.address, "g": r.group, "n": 0})
        if recipients and not sealed:
            pipe.hset(keys.job_recipients(job_id),
                      mapping={r.member_id: r.group for r in recipients})
        if failed:
            pipe.hset(keys.job_failed(job_id), mapping=failed)
        pipe.hset(keys.job_stats(job_id), mapping={"total": 0, **stats})

    def _sealed(self, job_id: str, recipients: Sequence[Recipient]) -> list[Recipient]:
        """The recipients as a sealed job stores them: random token, sealed address, no group."""
        if self._sealer is None:
            raise ValueError("a sealed job needs the outbox's sealer")
        return [Recipient(SEALED_MARK + secrets.token_hex(8), r.channel,
                          SEALED_MARK + self._sealer.seal_text(ADDRESS_SEAL, r.address, job_id)
                          if r.channel else "") for r in recipients]

    async def schedule(self, job_id: str, at: datetime) -> None:
        """Fire the job at `at` (the Scheduler calls the job kind's fire function)."""
        await self._redis.zadd(self._keys.jobs_due(), {job_id: at.timestamp()})

    async def unschedule(self, job_id: str) -> bool:
        """Take a job off the schedule; True if it had not fired yet."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._keys.jobs_due(), job_id)
            pipe.zrem(self._keys.jobs_firing(), job_id)
            due, _firing = await pipe.execute()
        return bool(due)

    async def cancel(self, job_id: str) -> str:
        """Stop a job: nothing more is sent. Returns its earlier state ("" if it had not fired;
        "done"/"cancelled" mean there was nothing left to stop)."""
        await self.unschedule(job_id)
        channels = await self._channels(job_id)
        queues = [k for c in channels for k in (self._keys.job_queue(job_id, c),
                                                 self._keys.job_retry(job_id, c))]
        keys = [self._keys.job(job_id), self._keys.job_stats(job_id), *queues,
                *self._report_keys(job_id)]
        before = str(await self._cancel(keys=keys, args=[len(queues), REPORT_TTL]))
        for channel in channels:
            await self._redis.zrem(self._keys.jobs_active(channel), job_id)
        return before

    async def stats(self, job_id: str) -> JobStats:
        """State and counters (live while sending)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._keys.job(job_id), "state")
            pipe.hgetall(self._keys.job_stats(job_id))
            state, raw = await pipe.execute()
        return JobStats.parse(state, raw)

    async def confirm(self, job_id: str, member_id: str) -> int | None:
        """Record "Đã nhận": 1 counted now, 0 already counted, None if not a recipient."""
        keys = self._keys
        result = int(await self._confirm(
            keys=[keys.job_recipients(job_id), keys.job_confirmed(job_id),
                  keys.job_stats(job_id)], args=[member_id]))
        return None if result < 0 else result

    async def unconfirmed(self, job_id: str) -> dict[str, str]:
        """Members who got the job's messages but have not confirmed: member id -> group."""
        keys = self._keys
        ids = sorted(map(str, await self._redis.sdiff([keys.job_sent(job_id),
                                                     keys.job_confirmed(job_id)])))
        if not ids:
            return {}
        groups = await self._redis.hmget(keys.job_recipients(job_id), ids)
        return {m: str(g or "") for m, g in zip(ids, groups, strict=True)}

    async def failure_reasons(self, job_id: str) -> Counter[str]:
        """Why deliveries failed for good: reason -> how many (for reports)."""
        return Counter(map(str, await self._redis.hvals(self._keys.job_failed(job_id))))

    async def _channels(self, job_id: str) -> list[str]:
        raw = await self._redis.hget(self._keys.job(job_id), "channels")
        return [c for c in str(raw or "").split(",") if c]

    def _report_keys(self, job_id: str) -> list[str]:
        return report_keys(self._keys, job_id)[:-1]  # without stats: passed on its own


def report_keys(keys: Keys, job_id: str) -> list[str]:
    """Keys a finished job keeps for its report (each gets REPORT_TTL)."""
    return [keys.job_recipients(job_id), keys.job_sent(job_id), keys.job_parts(job_id),
            keys.job_failed(job_id), keys.job_confirmed(job_id), keys.job_stats(job_id)]


def _counted(counter: str, group: str) -> list[str]:
    """The overall counter and, for a named group, the group's own."""
    return [counter, f"{counter}:{group}"] if group else [counter]
