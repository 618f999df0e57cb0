"""The proposal workflow against the real Valkey: submission, the review queues on Streams,
races, double presses, abandoned claims, withdrawals and recognition up the tree."""

from __future__ import annotations

import asyncio

import pytest

from bot.deps import Deps
from bot.org.models import Unit
from bot.proposals.levels import parse_levels, route_of
from bot.proposals.models import Decision, State
from bot.proposals.service import Refused
from tests.conftest import Clock
from tests.proposals.helpers import content, people, with_claim_ms


async def test_submit_gives_a_code_and_queues_at_the_grassroots(deps: Deps) -> None:
    author, *_ = await people(deps)
    tree = await deps.units.tree()
    first = await deps.proposals.submit(author, content(), tree, deps.clock())
    second = await deps.proposals.submit(author, content(name="Mô hình thứ hai"), tree,
                                         deps.clock())
    assert (first.code, second.code) == ("DVK-2026-00001", "DVK-2026-00002")
    assert first.state is State.SUBMITTED and first.route == ["dbcs-a", "khoi"]
    [stats] = await deps.proposals.queue.stats(["dbcs-a"])
    assert stats.length == 2 and stats.oldest == deps.clock().timestamp()
    mine = await deps.proposals.store.mine(author.id)
    assert [p.code for p in mine] == [second.code, first.code]
    [event] = await deps.proposals.store.history(first.code)
    assert (event.source, event.target, event.actor) == (None, State.SUBMITTED, author.id)


async def test_two_reviewers_racing_for_one_entry_exactly_one_gets_it(deps: Deps) -> None:
    author, r1, r2, _ = await people(deps)
    tree = await deps.units.tree()
    proposal = await deps.proposals.submit(author, content(), tree, deps.clock())
    got = await asyncio.gather(*(deps.proposals.next_for(r, ["dbcs-a"], deps.clock())
                                 for r in (r1, r2, r1, r2)))
    holders = {c.proposal.claimed_by for c in got if c is not None}
    assert len(holders) == 1
    stored = await deps.proposals.store.get(proposal.code)
    assert stored is not None and stored.state is State.IN_REVIEW
    assert stored.claimed_by in holders


async def test_same_decision_twice_is_one_transition(deps: Deps) -> None:
    author, r1, _, _ = await people(deps)
    tree = await deps.units.tree()
    await deps.proposals.submit(author, content(), tree, deps.clock())
    claimed = await deps.proposals.next_for(r1, ["dbcs-a"], deps.clock())
    assert claimed is not None
    p = claimed.proposal
    results = await asyncio.gather(
        *(deps.proposals.decide(r1, p.code, p.version, Decision.APPROVE, "Đạt yêu cầu.", "",
                                deps.clock()) for _ in range(3)), return_exceptions=True)
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    assert all(isinstance(r, Refused) for r in results if isinstance(r, BaseException))
    history = await deps.proposals.store.history(p.code)
    assert [e.target for e in history] == [State.SUBMITTED, State.IN_REVIEW, State.APPROVED]
    stats = await deps.proposals.queue.stats(["dbcs-a", "khoi"])
    assert [s.length for s in stats] == [0, 1]  # acked at cơ sở, queued once at the Khối


async def test_abandoned_claim_is_reclaimed_and_decided_once(deps: Deps) -> None:
    author, r1, r2, _ = await people(deps)
    tree = await deps.units.tree()
    fast = with_claim_ms(deps, 50)
    await fast.proposals.submit(author, content(), tree, deps.clock())
    first = await fast.proposals.next_for(r1, ["dbcs-a"], deps.clock())
    assert first is not None  # r1's bot process dies here: the claim is never decided
    assert await fast.proposals.next_for(r2, ["dbcs-a"], deps.clock()) is None  # still held
    await asyncio.sleep(0.1)
    second = await fast.proposals.next_for(r2, ["dbcs-a"], deps.clock())
    assert second is not None and second.proposal.code == first.proposal.code
    assert second.proposal.claimed_by == r2.id
    done = await fast.proposals.decide(r2, second.proposal.code, second.proposal.version,
                                       Decision.REJECT, "Chưa có số liệu.", "ghi chú", deps.clock())
    assert done.state is State.REJECTED
    with pytest.raises(Refused):  # r1 comes back and presses its old button
        await fast.proposals.decide(r1, first.proposal.code, first.proposal.version,
                                    Decision.APPROVE, "Đạt.", "", deps.clock())
    assert await fast.proposals.next_for(r1, ["dbcs-a"], deps.clock()) is None
    history = await deps.proposals.store.history(done.code)
    assert [e.target for e in history].count(State.REJECTED) == 1
    [stats] = await deps.proposals.queue.stats(["dbcs-a"])
    assert stats.length == 0


async def test_holder_sees_the_same_proposal_again_until_deciding(deps: Deps) -> None:
    author, r1, _, _ = await people(deps)
    tree = await deps.units.tree()
    for n in range(2):
        await deps.proposals.submit(author, content(name=f"Mô hình số {n}"), tree, deps.clock())
    a = await deps.proposals.next_for(r1, ["dbcs-a"], deps.clock())
    b = await deps.proposals.next_for(r1, ["dbcs-a"], deps.clock())
    assert a is not None and b is not None and a.proposal.code == b.proposal.code


async def test_recognised_after_both_levels_and_in_the_gallery(deps: Deps, clock: Clock) -> None:
    author, r1, _, top = await people(deps)
    tree = await deps.units.tree()
    p = await deps.proposals.submit(author, content(), tree, clock())
    claimed = await deps.proposals.next_for(r1, ["dbcs-a"], clock())
    assert claimed is not None
    after = await deps.proposals.decide(r1, p.code, claimed.proposal.version, Decision.APPROVE,
                                        "Thẩm định đạt.", "", clock())
    assert after.state is State.APPROVED and after.level == 1
    assert await deps.proposals.next_for(r1, ["dbcs-a"], clock()) is None
    up = await deps.proposals.next_for(top, ["khoi"], clock())
    assert up is not None and up.proposal.code == p.code
    final = await deps.proposals.decide(top, p.code, up.proposal.version, Decision.APPROVE,
                                        "Công nhận mô hình.", "", clock())
    assert final.state is State.RECOGNISED
    assert [g.code for g in await deps.proposals.store.gallery()] == [p.code]


async def test_withdrawn_proposal_leaves_the_queue_and_refuses_decisions(deps: Deps) -> None:
    author, r1, _, _ = await people(deps)
    tree = await deps.units.tree()
    p = await deps.proposals.submit(author, content(), tree, deps.clock())
    claimed = await deps.proposals.next_for(r1, ["dbcs-a"], deps.clock())
    assert claimed is not None
    await deps.proposals.withdraw(author, p.code, claimed.proposal.version, deps.clock())
    with pytest.raises(Refused, match="đã được tác giả rút"):
        await deps.proposals.decide(r1, p.code, claimed.proposal.version, Decision.APPROVE,
                                    "Đạt.", "", deps.clock())
    stored = await deps.proposals.store.get(p.code)
    assert stored is not None and stored.state is State.WITHDRAWN
    assert (await deps.proposals.queue.stats(["dbcs-a"]))[0].length == 0


async def test_returned_proposal_is_edited_and_resent(deps: Deps) -> None:
    author, r1, _, _ = await people(deps)
    tree = await deps.units.tree()
    p = await deps.proposals.submit(author, content(), tree, deps.clock())
    claimed = await deps.proposals.next_for(r1, ["dbcs-a"], deps.clock())
    assert claimed is not None
    await deps.proposals.decide(r1, p.code, claimed.proposal.version, Decision.RETURN,
                                "Bổ sung số liệu.", "", deps.clock())
    again = await deps.proposals.resend(author, p.code, content(name="Tên mới hơn"), tree,
                                        deps.clock())
    assert again.state is State.SUBMITTED and again.name == "Tên mới hơn"
    back = await deps.proposals.next_for(r1, ["dbcs-a"], deps.clock())
    assert back is not None and back.proposal.code == p.code


async def test_only_the_author_may_withdraw(deps: Deps) -> None:
    author, r1, _, _ = await people(deps)
    p = await deps.proposals.submit(author, content(), await deps.units.tree(), deps.clock())
    with pytest.raises(Refused):
        await deps.proposals.withdraw(r1, p.code, p.version, deps.clock())


def test_levels_follow_the_tree() -> None:
    from bot.org.tree import OrgTree
    tree = OrgTree.of([
        Unit(id="khoi", name="Khối", kind="dang_bo_khoi"),
        Unit(id="dbcs", name="Đảng bộ cơ sở", kind="dang_bo_co_so", parent="khoi"),
        Unit(id="cb", name="Chi bộ", kind="chi_bo", parent="dbcs"),
        Unit(id="cbcs", name="Chi bộ cơ sở", kind="chi_bo_co_so", parent="khoi"),
    ])
    levels = parse_levels("co_so,khoi")
    assert route_of(tree, "cb", levels) == ["dbcs", "khoi"]
    assert route_of(tree, "cbcs", levels) == ["cbcs", "khoi"]
    assert route_of(tree, "khoi", levels) == ["khoi"]
    assert route_of(tree, "cb", parse_levels("chi_bo,co_so,khoi")) == ["cb", "dbcs", "khoi"]
    with pytest.raises(ValueError, match="không hợp lệ"):
        parse_levels("Tỉnh ủy")  # any kind id of the units file is a level; this is none
