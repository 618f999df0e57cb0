"""Crashes and bursts against real servers: a reviewer's process SIGKILLed between claim and
decision, «Gửi» pressed again after a crash that kept the draft, and a burst of submissions
waiting on WAITAOF that must not exhaust the connection pool."""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import replace
from pathlib import Path

from bot.deps import Deps, build_proposals
from bot.proposals.models import Decision, Draft, State
from bot.storage.connection import connect
from bot.storage.embedded import EmbeddedValkey
from bot.storage.keys import Keys
from tests.conftest import UNITS, make_member
from tests.proposals.helpers import content, people, with_claim_ms

ROOT = Path(__file__).resolve().parents[2]


async def test_reviewer_process_killed_between_claim_and_decision(deps: Deps,
                                                                  valkey_url: str) -> None:
    author, r1, r2, _ = await people(deps)
    p = await deps.proposals.submit(author, content(), await deps.units.tree(), deps.clock())
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.proposals.killed_reviewer", valkey_url,
        r1.model_dump_json(), cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 30)
        assert line.decode().strip() == p.code  # the other process holds the claim
        held = await deps.proposals.store.get(p.code)
        assert held is not None and held.claimed_by == r1.id
    finally:
        child.send_signal(signal.SIGKILL)  # dies mid-review: no decision, no ack
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    fast = with_claim_ms(deps, 200)
    assert await fast.proposals.next_for(r2, ["dbcs-a"], deps.clock()) is None  # still held
    await asyncio.sleep(0.3)
    taken = await fast.proposals.next_for(r2, ["dbcs-a"], deps.clock())
    assert taken is not None and taken.proposal.code == p.code
    done = await fast.proposals.decide(r2, p.code, taken.proposal.version, Decision.APPROVE,
                                       "Thẩm định đạt.", "", deps.clock())
    assert done.state is State.APPROVED
    assert await fast.proposals.next_for(r2, ["dbcs-a"], deps.clock()) is None
    history = await deps.proposals.store.history(p.code)
    assert [e.target for e in history] == [State.SUBMITTED, State.IN_REVIEW, State.IN_REVIEW,
                                           State.APPROVED]
    assert [e.actor for e in history][1:] == [r1.id, r2.id, r2.id]
    assert [s.length for s in await deps.proposals.queue.stats(["dbcs-a", "khoi"])] == [0, 1]


async def test_send_again_after_a_crash_that_kept_the_draft(deps: Deps) -> None:
    author, *_ = await people(deps)
    tree = await deps.units.tree()
    draft = Draft(**content().model_dump())
    first = await deps.proposals.submit(author, draft, tree, deps.clock(), draft_id=draft.id)
    # the bot died before deleting the draft: the member presses «Gửi» again, twice at once
    again = await asyncio.gather(*(deps.proposals.submit(author, draft, tree, deps.clock(),
                                                         draft_id=draft.id) for _ in range(2)))
    assert {p.code for p in again} == {first.code}
    assert [p.code for p in await deps.proposals.store.mine(author.id)] == [first.code]
    assert [s.length for s in await deps.proposals.queue.stats(["dbcs-a"])] == [1]
    other = await deps.proposals.submit(author, Draft(**content().model_dump()), tree,
                                        deps.clock(), draft_id=Draft().id)
    assert other.code != first.code  # a new draft is a new proposal


async def test_two_presses_racing_before_either_is_stored(deps: Deps) -> None:
    author, *_ = await people(deps)
    tree = await deps.units.tree()
    draft = Draft(**content().model_dump())
    both = await asyncio.gather(*(deps.proposals.submit(author, draft, tree, deps.clock(),
                                                        draft_id=draft.id) for _ in range(3)))
    assert len({p.code for p in both}) == 1
    assert len(await deps.proposals.store.all_codes()) == 1
    stored = await deps.proposals.store.get(both[0].code)
    assert stored is not None and len(await deps.proposals.store.history(stored.code)) == 1
    [stats] = await deps.proposals.queue.stats(["dbcs-a"])
    assert stats.length == 1  # the losers' entries were dropped again


async def test_resend_pressed_again_after_a_crash_is_one_resend(deps: Deps) -> None:
    author, r1, _, _ = await people(deps)
    tree = await deps.units.tree()
    p = await deps.proposals.submit(author, content(), tree, deps.clock())
    claimed = await deps.proposals.next_for(r1, ["dbcs-a"], deps.clock())
    assert claimed is not None
    await deps.proposals.decide(r1, p.code, claimed.proposal.version, Decision.RETURN,
                                "Bổ sung số liệu.", "", deps.clock())
    draft = Draft(**content(name="Tên đã sửa").model_dump(), code=p.code)
    first = await deps.proposals.resend(author, p.code, draft, tree, deps.clock(),
                                        draft_id=draft.id)
    second = await deps.proposals.resend(author, p.code, draft, tree, deps.clock(),
                                         draft_id=draft.id)
    assert second.version == first.version and second.state is State.SUBMITTED
    history = await deps.proposals.store.history(p.code)
    assert [e.target for e in history].count(State.SUBMITTED) == 2  # the first and one resend
    [stats] = await deps.proposals.queue.stats(["dbcs-a"])
    assert stats.length == 1


async def test_a_burst_of_durable_submissions_does_not_exhaust_the_pool(
        deps: Deps, tmp_path: Path) -> None:
    async with EmbeddedValkey(tmp_path / "store") as store:  # AOF on: WAITAOF really waits
        assert store.url is not None
        redis = connect(store.url)  # redis-py's default pool: 100 connections
        try:
            keys = Keys("dv")
            live = replace(deps, redis=redis, proposals=build_proposals(deps.settings, redis,
                                                                        keys),
                           units=type(deps.units)(redis, keys),
                           members=type(deps.members)(redis, keys))
            await live.units.import_units(UNITS)
            author = await make_member(live, user_id="a", unit="cb-a1")
            tree = await live.units.tree()
            done = await asyncio.gather(*(live.proposals.submit(author, content(), tree,
                                                                deps.clock())
                                          for _ in range(150)))
            assert live.proposals.durability.mode == "waitaof"
            assert len({p.code for p in done}) == 150
            [stats] = await live.proposals.queue.stats(["dbcs-a"])
            assert stats.length == 150
            r = await make_member(live, user_id="r", unit="dbcs-a")
            claims = await asyncio.gather(*(live.proposals.next_for(
                r.model_copy(update={"id": f"r{i}"}), ["dbcs-a"], deps.clock())
                for i in range(150)))
            assert all(c is not None for c in claims)
            decided = await asyncio.gather(*(live.proposals.decide(
                r.model_copy(update={"id": f"r{i}"}), c.proposal.code, c.proposal.version,
                Decision.REJECT, "Chưa đạt yêu cầu.", "", deps.clock())
                for i, c in enumerate(claims) if c is not None))
            assert {p.state for p in decided} == {State.REJECTED}
            assert [s.length for s in await live.proposals.queue.stats(["dbcs-a"])] == [0]
        finally:
            await redis.aclose()
