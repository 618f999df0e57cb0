"""Who reviews what, and telling the author: shared by the chat's review flow and the web.

A reviewer reads the review queues inside their scope (own top units first); may act on a
proposal only as a reviewer (or admin) over its current reviewing unit; and every state change
is told to the author through the outbox, one job per version, so a retry never tells twice.
"""

from __future__ import annotations

from typing import Protocol

from bot.delivery.address import addressees
from bot.delivery.outbox import Outbox
from bot.org import access
from bot.org.members import MemberStore
from bot.org.models import Member, Role
from bot.org.tree import OrgTree
from bot.proposals.levels import reviewing_units
from bot.proposals.models import Proposal
from bot.proposals.render import notice as author_notice
from bot.proposals.render import notice_job
from bot.settings import Settings


class Services(Protocol):
    """What telling the author needs (the process's `Deps` has all of it)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def members(self) -> MemberStore: ...
    @property
    def outbox(self) -> Outbox: ...


async def notify_author(deps: Services, tree: OrgTree, proposal: Proposal) -> None:
    """Tell the author about a state change, through the outbox (one job per version)."""
    found = await addressees(deps.outbox.reach, deps.members, tree, [proposal.author],
                             proposal.unit)
    if found.job:
        paid = deps.settings.telegram_paid_rate > 0
        await deps.outbox.enqueue(notice_job(proposal), found.job, [author_notice(proposal)],
                                  paid=paid)


def review_units(member: Member, levels: list[frozenset[str]], tree: OrgTree) -> list[str]:
    """Review queues inside the reviewer's scope: their own top units first, then the rest."""
    queues = reviewing_units(tree, levels)
    roots = access.top_scopes(member, Role.REVIEWER, tree)
    ordered = [r for r in roots if r in queues]
    for root in roots:
        ordered += [u for u in tree.subtree(root) if u in queues and u not in ordered]
    return ordered


def may_review(member: Member, proposal: Proposal, tree: OrgTree) -> bool:
    """Reviewers (and admins) over the proposal's current reviewing unit."""
    return access.can(member, Role.REVIEWER, proposal.reviewing_unit, tree)
