"""Redis round trips per update, counted on the client's connections to the real Valkey:
one for an update that changes no state (its lock goes back with a batch of releases), two
for one that does (the second writes the state and unlocks together)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import Connection

from bot.app import build_router
from bot.delivery.seen import Seen
from bot.deps import Deps, Links, build_deps
from bot.engine.dispatcher import Dispatcher
from bot.engine.messages import Incoming
from bot.settings import Settings
from bot.storage.keys import Keys
from tests.conftest import UNITS, Clock, make_member


@dataclass
class Counted:
    """Deps on a client whose every send to Valkey (one per round trip) is counted."""

    deps: Deps
    dispatcher: Dispatcher
    sends: list[int]

    async def trips(self, user_id: str, text: str) -> int:
        """Round trips taken by handling one update (not counting batched releases)."""
        before = self.sends[0]
        await self.dispatcher.handle(Incoming("telegram", user_id, user_id, text=text))
        return self.sends[0] - before

    async def flushed(self) -> int:
        """Round trips taken to send the releases still pending."""
        before = self.sends[0]
        await self.deps.conversations.settle()
        return self.sends[0] - before


@pytest.fixture
async def counted(valkey_url: str, settings: Settings, clock: Clock) -> AsyncIterator[Counted]:
    sends = [0]

    class Counting(Connection):
        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            sends[0] += 1
            await super().send_packed_command(command, check_health)

    pool = ConnectionPool.from_url(valkey_url, connection_class=Counting,
                                   decode_responses=True)
    client = Redis(connection_pool=pool)
    await client.flushall()
    deps = replace(build_deps(settings, client, Keys("dv"), Links()), clock=clock)
    await deps.units.import_units(UNITS)
    yield Counted(deps, Dispatcher(build_router(), deps), sends)
    await client.aclose()


async def test_an_update_that_changes_nothing_takes_one_round_trip(counted: Counted) -> None:
    await make_member(counted.deps, user_id="71", unit="cb-a1")
    await counted.trips("71", "/help")  # first sight of the account: its member is looked up
    await counted.flushed()
    assert await counted.trips("71", "/help") == 1
    assert await counted.trips("71", "/me") == 1  # the lock, still ours, is taken back
    assert await counted.flushed() == 1
    lock = counted.deps.keys.lock("telegram", "71")
    assert await counted.deps.redis.exists(lock) == 0


async def test_an_update_that_changes_state_takes_two(counted: Counted) -> None:
    await make_member(counted.deps, user_id="72", unit="cb-a1")
    await counted.trips("72", "/help")
    await counted.flushed()
    assert await counted.trips("72", "/timkiem") == 2  # opens the search prompt
    dialog = await counted.deps.conversations.dialog("telegram", "72")
    assert dialog is not None and dialog.step == "find.q"
    assert await counted.deps.redis.exists(counted.deps.keys.lock("telegram", "72")) == 0
    assert await counted.trips("72", "/huy") == 2  # closes it
    assert await counted.deps.conversations.dialog("telegram", "72") is None


async def test_releases_of_many_accounts_share_round_trips(counted: Counted) -> None:
    users = [str(800 + n) for n in range(40)]
    for user in users:
        await make_member(counted.deps, user_id=user, unit="cb-a1")
        await counted.trips(user, "/help")
    async def all_at_once() -> int:
        before = counted.sends[0]
        await asyncio.gather(*(counted.dispatcher.handle(Incoming("telegram", u, u,
                                                                  text="/help"))
                               for u in users))
        await counted.flushed()
        return counted.sends[0] - before

    await all_at_once()  # opens the pool's connections (their handshakes are sends too)
    assert await all_at_once() < 1.5 * len(users)  # 40 reads, far fewer releases
    locks = [counted.deps.keys.lock("telegram", u) for u in users]
    assert await counted.deps.redis.exists(*locks) == 0


async def test_recording_the_last_interaction_costs_no_round_trip(counted: Counted) -> None:
    """The account's last interaction rides on the release: batched when nothing changed,
    in the write of the state when something did."""
    member = await make_member(counted.deps, user_id="73", unit="cb-a1")
    await counted.trips("73", "/help")
    await counted.flushed()
    counted.dispatcher.seen = Seen(counted.deps.keys, counted.deps.sealer, every=0)
    seen = counted.deps.keys.last_interaction("telegram")
    await counted.deps.redis.delete(seen)
    assert await counted.trips("73", "/help") == 1
    assert await counted.trips("73", "/me") == 1  # taken back: its record goes with the next
    assert await counted.flushed() == 1
    assert await counted.deps.redis.zcard(seen) == 1
    await counted.deps.redis.delete(seen)
    assert await counted.trips("73", "/timkiem") == 2
    assert await counted.deps.redis.zcard(seen) == 1
    # Nothing missed: the offer's key, read with the lock, costs nothing either.
    assert not await counted.deps.redis.exists(counted.deps.keys.pending_offer(member.id))
