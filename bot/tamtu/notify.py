"""Telling a thread's sender that something happened, and scheduling escalations.

The notice goes through the outbox like every other bulk message, under a random job id and
with a text that names no thread: the outbox keeps a job's recipients for its report, and a
job tied to a thread code would put the member next to their anonymous thread in the store.
The sender is opened from the thread's seal only here, only to address the notice.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, time

from redis.asyncio import Redis

from bot.delivery.outbox import Outbox, report_keys
from bot.engine.actions import act
from bot.engine.messages import Button, Reply
from bot.formatting import VIETNAM
from bot.org.members import MemberStore
from bot.storage.history import AofRewrites
from bot.storage.keys import Keys
from bot.tamtu.anonymity import Anonymity
from bot.tamtu.models import Thread

ESCALATE_JOB, NOTICE_JOB = "tte", "tt"
ESCALATE_AT = time(8, 0)  # escalations fire in the morning of the due day (Vietnam time)
MINE_LABEL = "Tâm tư của tôi"


class Notifier:
    """Notices to senders and the escalation schedule."""

    def __init__(self, redis: Redis, keys: Keys, members: MemberStore, outbox: Outbox,
                 anonymity: Anonymity, rewrites: AofRewrites, *, paid: bool = False) -> None:
        self._redis = redis
        self._keys = keys
        self._members = members
        self._outbox = outbox
        self._anonymity = anonymity
        self._paid = paid
        self.rewrites = rewrites  # anonymous activity has the AOF rewritten soon

    async def tell(self, thread: Thread, text: str) -> bool:
        """Queue a notice to the thread's sender; False when they cannot be reached."""
        member_id = self._anonymity.open_sender(thread.sender, self._keys.tamtu(thread.code))
        member = await self._members.get(member_id) if member_id else None
        if member is None:
            return False
        # Routed like every notice; one no channel reaches now is not kept for later (a
        # record of when a sender was told is one of when their thread was answered).
        [target] = await self._outbox.reach.recipients([member])
        if target.channel is None:
            return False
        notice = Reply(f"<b>Tâm tư, kiến nghị</b>\n{text}\nĐồng chí mở «{MINE_LABEL}» (/tamtu) "
                       "để xem.", buttons=((Button(MINE_LABEL, act("tt.mine")),),))
        await self._outbox.enqueue(f"{NOTICE_JOB}-{secrets.token_hex(8)}", [target], [notice],
                                   paid=self._paid)
        if thread.anonymous:
            await self.rewrites.soon()
        return True

    def after(self, hook: Callable[[str], Awaitable[None]]) -> Callable[[str], Awaitable[None]]:
        """The workers' "job finished" hook: `hook`, then `forget`."""

        async def done(job_id: str) -> None:
            """Run the other hook, then drop a finished notice's traces."""
            await hook(job_id)
            await self.forget(job_id)

        return done

    async def forget(self, job_id: str) -> None:
        """A delivered notice keeps no record of whom it went to (its id, time and recipient
        together would say who was answered that day)."""
        if job_id.startswith(f"{NOTICE_JOB}-"):
            await self._redis.delete(self._keys.job(job_id), *report_keys(self._keys, job_id))

    async def schedule_escalation(self, thread: Thread) -> None:
        """Fire `tte-<code>.<due>` on the morning of the due day."""
        at = datetime.combine(thread.due, ESCALATE_AT, tzinfo=VIETNAM)
        await self._outbox.schedule(f"{ESCALATE_JOB}-{thread.code}.{thread.due:%Y%m%d}", at)
