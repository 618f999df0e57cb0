"""Broadcasts: a cadre's announcement to a unit subtree — stored, fired, cancelled, reported.

Delivery is the outbox's job (bot/delivery); this module decides who gets what. The audience
is computed when the broadcast fires, so members who joined after it was scheduled get it too,
and the author's scope is checked again at that moment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from bot.broadcasts.announcement import Frame, Upload, render
from bot.delivery.models import JobStats, Recipient
from bot.delivery.outbox import DONE, SENDING, Outbox
from bot.delivery.reach import Facts, Reach, addressed
from bot.engine.actions import act
from bot.engine.messages import Button, Reply
from bot.formatting import vn_datetime
from bot.ops.audit import AuditLog
from bot.org import access
from bot.org.members import MemberStore
from bot.org.models import Member, Role
from bot.org.tree import OrgTree, UnitStore, group_of
from bot.storage.atomic import update_model
from bot.storage.keys import Keys

log = logging.getLogger("dvbot.broadcasts")

ACK_LABEL = "✓ Đã nhận"
BATCH = 500


class BroadcastFile(BaseModel):
    """The photo or document attached to a broadcast (re-sent by the platform's file id)."""

    kind: Literal["photo", "document"]
    file_id: str
    filename: str = ""


class Broadcast(BaseModel):
    """One announcement: content, audience (unit subtree, roles), time, author."""

    id: str = ""
    author: str
    author_name: str
    unit: str
    roles: list[Role] = Field(default_factory=list)  # empty: every member of the subtree
    text: str = ""  # as the cadre typed it; escaped when rendered
    file: BroadcastFile | None = None
    split: bool = False  # the cadre agreed to send a long text as several messages
    ack: bool = False  # with an "Đã nhận" button
    at: datetime
    created_at: datetime
    cancelled: bool = False
    reminders: int = 0

    @property
    def job_id(self) -> str:
        """The outbox job delivering it."""
        return f"bc-{self.id}"

    def reminder_job(self, number: int) -> str:
        """The outbox job of reminder `number` (1, 2, ...)."""
        return f"bc-{self.id}.r{number}"


@dataclass(frozen=True)
class Report:
    """A broadcast's live state, overall and per child unit."""

    broadcast: Broadcast
    stats: JobStats
    status: str  # "scheduled" | "sending" | "done" | "cancelled"
    groups: list[tuple[str, str]]  # (unit id, name), the rows of the report
    reminder: JobStats | None = None


def recipients_of(members: list[Member], tree: OrgTree, unit_id: str,
                  roles: list[Role], facts: Facts) -> list[Recipient]:
    """Who gets a broadcast to `unit_id`'s subtree, each grouped under a child unit and going
    by the channel that reaches them now (bot.delivery.reach)."""
    return [addressed(m, facts, group_of(tree, m.unit, unit_id)) for m in members
            if not roles or any(access.has_any(m, role) for role in roles)]


def frame_of(b: Broadcast, tree: OrgTree, *, reminder: bool = False) -> Frame:
    """Header/footer for a broadcast's messages."""
    unit = tree.get(b.unit)
    # A preview (no id yet) shows the same button; pressing it there only explains it.
    ack = Button(ACK_LABEL, act("bc.ok", b.id or "preview")) if b.ack else None
    return Frame(unit.name if unit else b.unit, b.author_name, reminder=reminder, ack=ack)


def messages_of(b: Broadcast, tree: OrgTree, *, reminder: bool = False,
                split: bool | None = None) -> list[Reply]:
    """The messages each recipient gets (TooLong if they need splitting and that is off)."""
    upload = Upload(b.file.kind, b.file.file_id, b.file.filename) if b.file else None
    return render(b.text, upload, frame_of(b, tree, reminder=reminder),
                  split=b.split if split is None else split)


class BroadcastService:
    """Create, fire, cancel, remind, confirm and report broadcasts."""

    def __init__(self, redis: Redis, keys: Keys, units: UnitStore, members: MemberStore,
                 outbox: Outbox, audit: AuditLog, *, paid: bool = False,
                 reach: Reach | None = None) -> None:
        self._redis = redis
        self._keys = keys
        self._units = units
        self._members = members
        self._outbox = outbox
        self._audit = audit
        self._paid = paid
        self.reach = reach or outbox.reach

    # ------------------------------------------------------------------ storage
    async def create(self, draft: Broadcast) -> Broadcast:
        """Store a new broadcast and put it on the schedule (now or later)."""
        number = str(await self._redis.incr(self._keys.broadcast_seq()))
        b = draft.model_copy(update={"id": number})
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._keys.broadcast(number), b.model_dump_json())
            pipe.zadd(self._keys.broadcasts_by(b.author), {number: b.created_at.timestamp()})
            await pipe.execute()
        await self._outbox.schedule(b.job_id, b.at)
        await self._audit.record(b.author, "broadcast_create", id=number, unit=b.unit,
                                 roles=",".join(b.roles), at=b.at.isoformat())
        return b

    async def get(self, broadcast_id: str) -> Broadcast | None:
        """The broadcast, or None."""
        raw = await self._redis.get(self._keys.broadcast(broadcast_id))
        return Broadcast.model_validate_json(raw) if raw else None

    async def by_author(self, member_id: str, limit: int = 10) -> list[Broadcast]:
        """The member's broadcasts, newest first."""
        ids = await self._redis.zrevrange(self._keys.broadcasts_by(member_id), 0, limit - 1)
        found = [await self.get(str(i)) for i in ids]
        return [b for b in found if b is not None]

    async def _update(self, broadcast_id: str, **changes: object) -> Broadcast:
        updated = await update_model(self._redis, self._keys.broadcast(broadcast_id), Broadcast,
                                     lambda b: b.model_copy(update=changes))
        if updated is None:
            raise LookupError(f"broadcast {broadcast_id} does not exist")
        return updated

    # ------------------------------------------------------------------ audience
    async def audience(self, tree: OrgTree, unit_id: str, roles: list[Role],
                       author: str = "") -> list[Recipient]:
        """Everyone a broadcast to this subtree reaches right now (for preview and firing),
        except its author: nobody is in the audience of what they send."""
        ids: list[str] = []
        for unit in tree.subtree(unit_id):
            ids += map(str, await self._redis.smembers(self._keys.unit_members(unit)))
        ordered = sorted(set(ids), key=int)
        out: list[Recipient] = []
        for start in range(0, len(ordered), BATCH):  # a batch of Members at a time in memory
            members = await self._members.many(ordered[start:start + BATCH])
            out += recipients_of([m for m in members if m.id != author], tree, unit_id, roles,
                                 await self._facts(members))
        return out

    async def _facts(self, members: list[Member]) -> Facts:
        return await self.reach.facts(members, datetime.now(UTC))

    # ------------------------------------------------------------------ lifecycle
    async def fire(self, job_id: str) -> None:
        """Scheduler callback: expand the broadcast into deliveries (idempotent)."""
        b = await self.get(job_id.removeprefix("bc-"))
        if b is None or b.cancelled:
            return
        tree = await self._units.tree()
        author = await self._members.get(b.author)
        if author is None or not access.can(author, Role.CADRE, b.unit, tree):
            log.warning("broadcast %s dropped: its author lost the right to send it", b.id)
            await self._update(b.id, cancelled=True)
            await self._outbox.cancel(b.job_id)
            await self._audit.record(b.author, "broadcast_dropped", id=b.id, unit=b.unit)
            return
        recipients = await self.audience(tree, b.unit, b.roles, b.author)
        await self._outbox.enqueue(b.job_id, recipients, messages_of(b, tree, split=True),
                                   paid=self._paid)

    async def cancel(self, b: Broadcast, actor: str) -> str:
        """Stop a scheduled or running broadcast; returns the state it had ("done" = too late)."""
        state = (await self._outbox.stats(b.job_id)).state
        if state == DONE or b.cancelled:
            return "cancelled" if b.cancelled else DONE
        await self._update(b.id, cancelled=True)
        before = await self._outbox.cancel(b.job_id)
        await self._audit.record(actor, "broadcast_cancel", id=b.id, unit=b.unit)
        return before or "scheduled"

    async def remind(self, b: Broadcast, actor: str) -> int:
        """Send the announcement again to those who got it but did not confirm; how many."""
        pending = await self._outbox.unconfirmed(b.job_id)
        if not pending:
            return 0
        members = await self._members.many(sorted(pending, key=int))
        tree = await self._units.tree()
        recipients = [replace(r, group=pending[r.member_id])
                      for r in await self.reach.recipients(members)]
        b = await self._update(b.id, reminders=b.reminders + 1)
        await self._outbox.enqueue(b.reminder_job(b.reminders), recipients,
                                   messages_of(b, tree, reminder=True, split=True),
                                   paid=self._paid)
        await self._audit.record(actor, "broadcast_remind", id=b.id, count=str(len(recipients)))
        return len(recipients)

    async def confirm(self, broadcast_id: str, member_id: str) -> int | None:
        """A member pressed "Đã nhận" (1 counted, 0 already, None: not a recipient)."""
        return await self._outbox.confirm(f"bc-{broadcast_id}", member_id)

    async def report(self, b: Broadcast) -> Report:
        """Live state for the cadre."""
        stats = await self._outbox.stats(b.job_id)
        tree = await self._units.tree()
        status = ("cancelled" if b.cancelled else stats.state if stats.state
                  else "scheduled")
        rows = [b.unit, *tree.children.get(b.unit, ())]
        groups = [(u, tree.units[u].name if u in tree.units else u) for u in rows]
        reminder = await self._outbox.stats(b.reminder_job(b.reminders)) if b.reminders else None
        return Report(b, stats, status, groups, reminder)

    async def reminder_running(self, b: Broadcast) -> bool:
        """True while the last reminder is still being sent."""
        if not b.reminders:
            return False
        return (await self._outbox.stats(b.reminder_job(b.reminders))).state == SENDING

    async def notify_author(self, job_id: str) -> None:
        """Worker hook: tell the author a broadcast finished, with a button to its report."""
        if not job_id.startswith("bc-") or "." in job_id:
            return  # reminders and summaries themselves do not report back
        b = await self.get(job_id.removeprefix("bc-"))
        author = await self._members.get(b.author) if b else None
        if b is None or author is None:
            return
        tally = (await self._outbox.stats(job_id)).overall
        text = (f"<b>Thông báo #{b.id} đã gửi xong</b> ({vn_datetime(b.at)})\n"
                f"Đã gửi {tally.sent}/{tally.total} người"
                + (f", {tally.blocked} người đã chặn bot" if tally.blocked else "")
                + (f", {tally.failed} không gửi được" if tally.failed else "") + ".")
        reply = Reply(text, buttons=((Button("Xem báo cáo", act("bc.v", b.id)),),))
        await self._outbox.enqueue(f"{job_id}.done", await self.reach.recipients([author]),
                                   [reply])
