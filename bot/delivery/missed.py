"""Notices a member could not be sent (no channel reached them then), kept to offer the next
time the member writes, on whatever channel: "Đồng chí có 2 thông báo chưa đọc… Gõ /chuadoc".

Per member: a sorted set of job ids by time (`pending_notices`), and a string with the moment
from which the offer is due (`pending_offer`), read in the round trip that takes the account's
lock, so a member with nothing missed costs no extra read.

What is never kept, because the record itself would say something anonymous:
- survey reminders (`sv-<id>.rm-…`): who is reminded is who has not answered;
- tâm tư notices (`tt-…`): the time of a notice to a sender is the time their (possibly
  anonymous) thread was answered, and the job is deleted when delivered anyway;
- deliveries of a sealed job, which carry random tokens instead of member ids.
A survey's invitation (`sv-<id>`, sealed) is kept with its job id sealed and its time rounded to
the day: a copy of the store shows that a member missed something that day, not which survey.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from redis.asyncio import Redis

from bot.engine.messages import Reply
from bot.formatting import vn_number
from bot.privacy.seal import SealBroken, Sealer
from bot.storage.keys import Keys

PENDING_TTL = 30 * 86_400  # missed notices are offered for this long
TELL_AGAIN_AFTER = 6 * 3600  # the offer is repeated at most this often
COMMAND = "/chuadoc"
SEALED_MARK = "~"  # starts sealed entries (and the tokens of a sealed job's deliveries)
PURPOSE = "missed-notice"  # sealing purpose of kept survey invitations
DAY = 86_400


def never_kept(job_id: str) -> bool:
    """Jobs whose record per member would say something anonymous (see the docstring)."""
    survey_reminder = job_id.startswith("sv-") and ".rm-" in job_id
    return survey_reminder or job_id.startswith("tt-")


class Missed:
    """Missed notices per member and the offer of them."""

    def __init__(self, redis: Redis, keys: Keys, sealer: Sealer | None = None) -> None:
        self._redis = redis
        self._keys = keys
        self._sealer = sealer

    async def keep(self, job_id: str, member_ids: Sequence[str], *,
                   sealed: bool = False) -> None:
        """Remember a job for members it could not reach now."""
        ids = [m for m in member_ids if m and not m.startswith(SEALED_MARK)]
        if not ids or never_kept(job_id) or (sealed and self._sealer is None):
            return
        now = time.time()
        day = now // DAY * DAY
        # Expiries and the offer's time are to the day as well: a TTL counting down from the
        # exact moment would date the entry that a sealed entry's score leaves at the day.
        until = int(day + DAY + PENDING_TTL)
        async with self._redis.pipeline(transaction=False) as pipe:
            for member_id in ids:  # each member's keys live in their own slot
                key = self._keys.pending_notices(member_id)
                entry, score = job_id, now
                if sealed and self._sealer is not None:
                    entry = SEALED_MARK + self._sealer.seal_text(PURPOSE, job_id, key)
                    score = day
                pipe.zadd(key, {entry: score})
                pipe.zremrangebyscore(key, "-inf", now - PENDING_TTL)
                pipe.expireat(key, until)
                offer = self._keys.pending_offer(member_id)
                pipe.set(offer, int(day), nx=True, exat=until)  # a recent offer stands
                pipe.expireat(offer, until)
            await pipe.execute()

    async def _entries(self, member_id: str) -> list[tuple[str, str]]:
        """(stored entry, job id) of the member's missed jobs that still have their messages,
        oldest first."""
        key = self._keys.pending_notices(member_id)
        raws = [str(r) for r in await self._redis.zrangebyscore(
            key, time.time() - PENDING_TTL, "+inf")]
        found = [(raw, self._open(key, raw)) for raw in raws]
        found = [(raw, job) for raw, job in found if job]
        if not found:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for _raw, job in found:
                pipe.hexists(self._keys.job(job), "messages")
            alive = await pipe.execute()
        return [pair for pair, ok in zip(found, alive, strict=True) if ok]

    def _open(self, key: str, raw: str) -> str:
        if not raw.startswith(SEALED_MARK):
            return raw
        if self._sealer is None:
            return ""
        try:
            return self._sealer.open_text(PURPOSE, raw[1:], key)
        except SealBroken:
            return ""

    async def pending(self, member_id: str) -> list[str]:
        """Jobs the member missed (oldest first) that still have their messages."""
        return [job for _raw, job in await self._entries(member_id)]

    async def forget(self, member_id: str, job_ids: Sequence[str]) -> None:
        """The member has now seen these; with nothing left, nothing is offered any more."""
        wanted = set(job_ids)
        entries = await self._entries(member_id)
        gone = [raw for raw, job in entries if job in wanted]
        if gone:
            await self._redis.zrem(self._keys.pending_notices(member_id), *gone)
        if len(gone) == len(entries):
            await self._redis.delete(self._keys.pending_notices(member_id),
                                     self._keys.pending_offer(member_id))

    async def offer(self, member_id: str, due: object, now: float) -> Reply | None:
        """The offer, when one is `due` (the value of `pending_offer`, read with the lock) and
        something is still missed; it is then not repeated for TELL_AGAIN_AFTER."""
        if due is None or float(str(due)) > now:
            return None
        key = self._keys.pending_offer(member_id)
        pending = await self.pending(member_id)
        if not pending:
            await self._redis.delete(key)
            return None
        await self._redis.set(key, int(now + TELL_AGAIN_AFTER), ex=PENDING_TTL)
        return Reply(f"Đồng chí có {vn_number(len(pending))} thông báo chưa đọc (gửi khi chưa "
                     f"liên lạc được với đồng chí). Gõ {COMMAND} để xem.")
