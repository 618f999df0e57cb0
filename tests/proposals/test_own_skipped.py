"""A reviewer is never handed their own proposal from the review queue (they cannot decide
it): it stays queued, in its place, for the next other reviewer; with only their own left
they are told so. Against the real Valkey."""

from __future__ import annotations

import pytest

from bot.deps import Deps
from bot.proposals.models import Event, Proposal, State
from bot.proposals.service import ONLY_OWN, Refused
from tests.proposals.helpers import content, people


async def submitted(deps: Deps, *names: str, by: str) -> list[Proposal]:
    """Submit proposals in this order, by the member with id `by`."""
    author = await deps.members.get(by)
    assert author is not None
    tree = await deps.units.tree()
    return [await deps.proposals.submit(author, content(name=n), tree, deps.clock())
            for n in names]


async def test_own_proposal_is_skipped_and_left_in_place_for_others(deps: Deps) -> None:
    author, r1, r2, _ = await people(deps)
    [own] = await submitted(deps, "Mô hình của người thẩm định", by=r1.id)
    second, third = await submitted(deps, "Mô hình thứ hai", "Mô hình thứ ba", by=author.id)
    got = await deps.proposals.next_for(r1, ["dbcs-a"], deps.clock())
    assert got is not None and got.proposal.code == second.code
    again = await deps.proposals.next_for(r1, ["dbcs-a"], deps.clock())
    assert again is not None and again.proposal.code == second.code  # still the one held
    other = await deps.proposals.next_for(r2, ["dbcs-a"], deps.clock())
    assert other is not None and other.proposal.code == own.code and other.fresh
    [stats] = await deps.proposals.queue.stats(["dbcs-a"])
    assert stats.length == 3  # nothing lost: all three still wait for a decision
    stored = await deps.proposals.store.get(third.code)
    assert stored is not None and stored.state is State.SUBMITTED


async def test_only_own_proposals_left_is_said_and_nothing_moves(deps: Deps) -> None:
    _, r1, r2, _ = await people(deps)
    first, second = await submitted(deps, "Mô hình một", "Mô hình hai", by=r1.id)
    for _ in range(2):  # asking again changes nothing either
        with pytest.raises(Refused) as refused:
            await deps.proposals.next_for(r1, ["dbcs-a"], deps.clock())
        assert str(refused.value) == ONLY_OWN
    for p in (first, second):
        stored = await deps.proposals.store.get(p.code)
        assert stored is not None and stored.state is State.SUBMITTED
        assert stored.claimed_by is None
    taken = await deps.proposals.next_for(r2, ["dbcs-a"], deps.clock())
    assert taken is not None and taken.proposal.code == first.code  # the oldest first


async def test_own_proposal_queued_without_its_author_is_skipped_too(deps: Deps) -> None:
    author, r1, r2, _ = await people(deps)
    [own] = await submitted(deps, "Mô hình gửi trước khi nâng cấp", by=r1.id)
    key = deps.keys.review_queue("dbcs-a")
    # The entry as written before entries named their author.
    legacy = str(await deps.redis.xadd(key, {"p": own.code, "l": 0, "t": 0}))
    await deps.proposals.queue.done("dbcs-a", own.entry)
    moved = own.model_copy(update={"entry": legacy, "version": own.version + 1})
    await deps.proposals.store.apply(own, moved, Event(at=deps.clock(), actor=r1.id,
                                                       actor_name=r1.name, source=own.state,
                                                       target=own.state))
    with pytest.raises(Refused, match="chính đồng chí gửi"):
        await deps.proposals.next_for(r1, ["dbcs-a"], deps.clock())
    [later] = await submitted(deps, "Mô hình của người khác", by=author.id)
    got = await deps.proposals.next_for(r1, ["dbcs-a"], deps.clock())
    assert got is not None and got.proposal.code == later.code
    other = await deps.proposals.next_for(r2, ["dbcs-a"], deps.clock())
    assert other is not None and other.proposal.code == own.code
