"""Member ids to a job's recipients, each routed now (bot.delivery.reach): what every notice
(directives, reminders, surveys, proposals' notices...) hands to the outbox.

The split says what the cadre is told: `reached` are sent now; `kept` cannot be reached on any
channel now for a reason that passes (a closed Zalo OA window, the Zalo bot out of quota), go in
the job as failures with that reason and are offered the notice when they next write; members
without any account are only counted (`skipped` includes them and `kept`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.delivery.models import Recipient
from bot.delivery.reach import OFFER_LATER, Reach
from bot.formatting import vn_number
from bot.org.members import MemberStore
from bot.org.models import Member
from bot.org.tree import OrgTree, group_of

BATCH = 500  # Members in memory at a time


@dataclass(frozen=True)
class Addressed:
    """Routed recipients of one job, split by what happens to them now."""

    reached: list[Recipient] = field(default_factory=list)
    kept: list[Recipient] = field(default_factory=list)
    without_account: int = 0

    @property
    def job(self) -> list[Recipient]:
        """What the outbox gets: those sent now and those kept for later."""
        return [*self.reached, *self.kept]

    @property
    def skipped(self) -> int:
        """Members not sent to now, for whatever reason."""
        return len(self.kept) + self.without_account


async def address(reach: Reach, members: MemberStore, ids: Sequence[str],
                  group: Callable[[Member], str] | None = None) -> Addressed:
    """Route the members `ids` (unknown ids are dropped), a batch at a time."""
    found: list[Recipient] = []
    for start in range(0, len(ids), BATCH):
        found += await reach.recipients(await members.many(list(ids[start:start + BATCH])),
                                        group)
    return split(found)


async def addressees(reach: Reach, members: MemberStore, tree: OrgTree, ids: Sequence[str],
                     unit_id: str | None) -> Addressed:
    """`address`, each grouped by the child unit of `unit_id` they belong to (the rows of a
    report), as broadcasts are."""
    return await address(reach, members, ids,
                         lambda m: group_of(tree, m.unit, unit_id) if unit_id else "")


def split(found: Sequence[Recipient]) -> Addressed:
    """Sort routed recipients into reached, kept for later and without an account."""
    reached = [r for r in found if r.channel]
    kept = [r for r in found if not r.channel and r.reason in OFFER_LATER]
    return Addressed(reached, kept, len(found) - len(reached) - len(kept))


def later_line(kept: int) -> str:
    """What the cadre is told about members no channel reaches now (empty for none)."""
    if not kept:
        return ""
    return (f"({vn_number(kept)} đồng chí hiện không liên lạc được qua Zalo (quá thời hạn nhắn "
            "tin hoặc bot Zalo hết lượt tin trong tháng); các đồng chí này sẽ được báo có "
            "thông báo chưa đọc khi nhắn lại cho bot.)")
