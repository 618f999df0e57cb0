"""Unit sizes kept per process: right after every join, whichever process registered it."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.deps import Deps
from bot.org.unit_sizes import UnitSizes
from tests.conftest import make_member


async def test_sizes_follow_joins_from_any_process(deps: Deps, redis: Redis) -> None:
    sizes = UnitSizes(redis, deps.keys)
    assert await sizes.of(["cb-a1", "cb-a2", "khoi"]) == [0, 0, 0]
    for n in range(3):
        await make_member(deps, user_id=f"s{n}", unit="cb-a1")
    await make_member(deps, user_id="s9", unit="khoi")
    assert await sizes.of(["cb-a1", "cb-a2", "khoi", "cb-a1"]) == [3, 0, 1, 3]
    # A join through another process's store is seen at once: the count of all members
    # moved, so this process counts again.
    other = UnitSizes(redis, deps.keys)
    await other.of(["cb-a2"])
    await make_member(deps, user_id="s10", unit="cb-a2")
    assert await sizes.of(["cb-a2", "cb-a1"]) == [1, 3]
