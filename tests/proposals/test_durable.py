"""A confirmed proposal is on disk: the embedded Valkey (AOF on) confirms it with WAITAOF, and
it (and a confirmed decision) survives the server being killed outright and restarted; a
server without AOF is detected and the submission still goes through."""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import replace
from pathlib import Path

import pytest

from bot.deps import Deps, build_proposals
from bot.proposals.durable import Durability
from bot.proposals.models import Decision, State
from bot.storage.connection import connect
from bot.storage.embedded import EmbeddedValkey
from bot.storage.keys import Keys
from bot.storage.pinned import pinned
from tests.conftest import UNITS, make_member
from tests.proposals.helpers import content


async def test_submission_survives_a_killed_and_restarted_store(deps: Deps,
                                                              tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    store = EmbeddedValkey(data_dir)
    url = await store.start()
    redis = connect(url)
    try:
        service = build_proposals(deps.settings, redis, Keys("dv"))
        live = replace(deps, redis=redis, proposals=service,
                       units=type(deps.units)(redis, Keys("dv")),
                       members=type(deps.members)(redis, Keys("dv")))
        await live.units.import_units(UNITS)
        author = await make_member(live, user_id="a", unit="cb-a1")
        proposal = await service.submit(author, content(), await live.units.tree(),
                                        deps.clock())
        assert service.durability.mode == "waitaof"  # the embedded server confirms fsync
        reviewer = await make_member(live, user_id="r", unit="dbcs-a")
        claimed = await service.next_for(reviewer, ["dbcs-a"], deps.clock())
        assert claimed is not None
        await service.decide(reviewer, proposal.code, claimed.proposal.version,
                             Decision.APPROVE, "Thẩm định đạt.", "", deps.clock())
        assert store.pid is not None
        os.kill(store.pid, signal.SIGKILL)  # no shutdown, no final save: only the AOF
    finally:
        await redis.aclose()
        await store.stop()
    async with EmbeddedValkey(data_dir) as again:
        assert again.url is not None
        redis = connect(again.url)
        try:
            service = build_proposals(deps.settings, redis, Keys("dv"))
            stored = await service.store.get(proposal.code)
            assert stored is not None and stored.name == proposal.name
            assert stored.state is State.APPROVED  # the confirmed decision survived too
            history = await service.store.history(proposal.code)
            assert [e.target for e in history][-1] is State.APPROVED
            stats = await service.queue.stats(["dbcs-a", "khoi"])
            assert [s.length for s in stats] == [0, 1]
        finally:
            await redis.aclose()


async def test_server_without_aof_falls_back_once_and_never_fails(
        deps: Deps, caplog: pytest.LogCaptureFixture) -> None:
    durability = Durability(deps.redis)
    with caplog.at_level(logging.WARNING, "dvbot.proposals.durable"):
        assert await durability.probe() == "policy"  # the test server runs without AOF
        assert await durability.probe() == "policy"
        async with pinned(deps.redis, Keys("dv").proposal("x")) as conn:
            assert await durability.wait(conn)
    assert len([r for r in caplog.records if "WAITAOF" in r.getMessage()]) == 1
