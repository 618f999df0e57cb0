""""Nhắc nhở" for a directive: who a reminder reaches, and sending it once per window.

The chat's coverage report and the web dashboard both call this, so the rule is one: the
"not yet" list of the unit's subtree (in the document's audience), each routed now
(bot.delivery.address): those no channel reaches now get it when they next write, those
without any account are counted, not sent; one window of an hour per document and unit
in which a second press sends nothing and says when the last reminder went out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from redis.asyncio import Redis

from bot.delivery.address import Addressed, addressees
from bot.delivery.models import Recipient
from bot.delivery.outbox import Outbox
from bot.library.coverage import not_acknowledged
from bot.library.models import Entry
from bot.library.notices import (
    claim_reminder,
    open_reminder,
    reminder_job,
    reminder_message,
)
from bot.ops.audit import AuditLog
from bot.org.members import MemberStore
from bot.org.tree import OrgTree
from bot.settings import Settings
from bot.storage.keys import Keys


class Services(Protocol):
    """What reminders need (the process's `Deps` has all of it)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def keys(self) -> Keys: ...
    @property
    def members(self) -> MemberStore: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def redis(self) -> Redis: ...


@dataclass(frozen=True)
class Plan:
    """Who a reminder would reach now, who only later (no channel reaches them now), how many
    have no account, and an open window."""

    targets: list[Recipient]
    skipped: int  # without any account
    window: int | None  # start of a reminder window whose job already went out
    kept: list[Recipient] = field(default_factory=list)


@dataclass(frozen=True)
class Sent:
    """The outcome of a press: how many were queued, or the window that made it a no-op."""

    queued: int
    skipped: int
    window: int
    kept: int = 0  # offered when they next write


async def window(deps: Services, entry: Entry, unit_id: str) -> int | None:
    """Start of the reminder window whose reminder already went out, if one is open."""
    stamp = await open_reminder(deps.redis, deps.keys, entry.id, unit_id)
    if stamp is not None and (await deps.outbox.stats(reminder_job(entry.id, unit_id,
                                                                    stamp))).state:
        return stamp
    return None


async def plan(deps: Services, tree: OrgTree, entry: Entry, unit_id: str) -> Plan:
    """The exact count a cadre is shown before confirming."""
    stamp = await window(deps, entry, unit_id)
    if stamp is not None:
        return Plan([], 0, stamp)
    found = await _targets(deps, tree, entry, unit_id)
    return Plan(found.reached, found.without_account, None, found.kept)


async def send(deps: Services, tree: OrgTree, entry: Entry, unit_id: str, actor: str,
               now: datetime) -> Sent:
    """Queue the reminder; inside the last one's window nothing more is sent."""
    # Computed again: someone may have studied it since the question was asked.
    found = await _targets(deps, tree, entry, unit_id)
    skipped = found.without_account
    if not found.job:
        return Sent(0, skipped, 0)
    stamp = await claim_reminder(deps.redis, deps.keys, entry.id, unit_id, now)
    message = reminder_message(entry, tree.units[unit_id].name)
    # The window's own job id: a press inside it finds the job expanded and sends nothing,
    # while a press after a crash between claiming and enqueueing finishes the job.
    if not await deps.outbox.enqueue(reminder_job(entry.id, unit_id, stamp), found.job,
                                     [message], paid=deps.settings.telegram_paid_rate > 0):
        return Sent(0, skipped, stamp)
    await deps.audit.record(actor, "directive_remind", doc=entry.id, unit=unit_id,
                            count=str(len(found.reached)))
    return Sent(len(found.reached), skipped, stamp, len(found.kept))


async def _targets(deps: Services, tree: OrgTree, entry: Entry, unit_id: str) -> Addressed:
    """Who has not acknowledged, routed now."""
    ids = await not_acknowledged(deps.redis, deps.keys, tree, entry.id, unit_id, entry.audience)
    return await addressees(deps.outbox.reach, deps.members, tree, ids, unit_id)
