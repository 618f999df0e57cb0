"""Escalation: a thread still waiting on its due day goes one level up, by the scheduler
(`tte-<code>.<YYYYMMDD>`, fired on the morning of that day)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime

from bot.formatting import VIETNAM
from bot.org.tree import OrgTree, UnitStore
from bot.tamtu.models import State, Thread
from bot.tamtu.notify import ESCALATE_JOB
from bot.tamtu.service import Refused, TamtuService


def jobs(service: TamtuService, units: UnitStore, clock: Callable[[], datetime]
         ) -> dict[str, Callable[[str], Awaitable[None]]]:
    """Job kinds for `bot.delivery.schedule.by_kind`: escalations."""

    async def fire(job_id: str) -> None:
        """Escalate if the thread still waits (idempotent: the due day must match)."""
        today = clock().astimezone(VIETNAM).date()
        await escalate(service, job_id, await units.tree(), today)

    return {ESCALATE_JOB: fire}


async def escalate(service: TamtuService, job_id: str, tree: OrgTree, today: date
                   ) -> Thread | None:
    """`tte-<code>.<due>`: still unanswered on its due day → one level up."""
    code, _, due = job_id.split("-", 1)[1].rpartition(".")
    thread = await service.store.get(code)
    if thread is None or thread.state is not State.OPEN or f"{thread.due:%Y%m%d}" != due:
        return None  # answered, moved or closed since: nothing to do
    parent = tree.units[thread.unit].parent if thread.unit in tree.units else None
    if parent is None:
        return None  # the top level: it stays, shown as overdue
    try:
        return await service.forward(thread, parent, tree.units[parent].name, today,
                                     automatic=True)
    except Refused:
        return None
