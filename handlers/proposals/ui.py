"""Pieces the proposal flows share: notifying the author, button-argument helpers, and the
reviewer's scope (which review queues a reviewer reads)."""

from __future__ import annotations

from bot.deps import Deps
from bot.engine.dispatcher import notice
from bot.engine.router import Outcome, Request
from bot.library.notices import reachable
from bot.org import access
from bot.org.models import Member, Role
from bot.org.tree import OrgTree
from bot.proposals.levels import reviewing_units
from bot.proposals.models import Proposal
from bot.proposals.render import notice as author_notice
from bot.proposals.render import notice_job
from bot.proposals.service import Refused

FORGED = "Nút bấm thiếu thông tin hoặc không hợp lệ. Đồng chí gõ /menu để bắt đầu lại."


def arg(request: Request, index: int) -> str:
    """A button argument, or Forbidden when the payload lacks it."""
    if index >= len(request.args):
        raise access.Forbidden(FORGED)
    return request.args[index]


def number(request: Request, index: int) -> int:
    """A numeric button argument (a version), or Forbidden."""
    raw = arg(request, index)
    if not raw.isdigit() or len(raw) > 9:
        raise access.Forbidden(FORGED)
    return int(raw)


async def notify_author(deps: Deps, tree: OrgTree, proposal: Proposal) -> None:
    """Tell the author about a state change, through the outbox (one job per version)."""
    targets, _skipped = await reachable(deps.members, tree, [proposal.author], proposal.unit)
    if targets:
        paid = deps.settings.telegram_paid_rate > 0
        await deps.outbox.enqueue(notice_job(proposal), targets, [author_notice(proposal)],
                                  paid=paid)


def review_units(member: Member, deps: Deps, tree: OrgTree) -> list[str]:
    """Review queues inside the reviewer's scope: their own top units first, then the rest."""
    queues = reviewing_units(tree, deps.proposals.levels)
    roots = access.top_scopes(member, Role.REVIEWER, tree)
    ordered = [r for r in roots if r in queues]
    for root in roots:
        ordered += [u for u in tree.subtree(root) if u in queues and u not in ordered]
    return ordered


def may_review(member: Member, proposal: Proposal, tree: OrgTree) -> bool:
    """Reviewers (and admins) over the proposal's current reviewing unit."""
    return access.can(member, Role.REVIEWER, proposal.reviewing_unit, tree)


def refused(request: Request, exc: Refused) -> Outcome:
    """A workflow refusal as a polite notice that keeps whatever is on screen."""
    return notice(str(exc), request.dialog)
