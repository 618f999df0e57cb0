"""Members: one per account even under retries; grants change atomically."""

from __future__ import annotations

import asyncio

from bot.deps import Deps
from bot.org.models import Grant, Role
from tests.conftest import Clock


async def test_register_is_idempotent_per_account(deps: Deps, clock: Clock) -> None:
    results = await asyncio.gather(*(
        deps.members.register(channel="telegram", user_id="7", name="Nguyễn Văn A",
                              unit="cb-a1", grants=[], now=clock()) for _ in range(5)))
    assert len({m.id for m in results}) == 1
    assert await deps.members.count() == 1
    assert [m.id for m in await deps.members.list(unit="cb-a1")] == [results[0].id]


async def test_concurrent_grants_are_not_lost(deps: Deps, clock: Clock) -> None:
    member = await deps.members.register(channel="telegram", user_id="7", name="Nguyễn Văn A",
                                         unit="cb-a1", grants=[], now=clock())
    grants = [Grant(role=Role.CADRE, unit=u) for u in ("cb-a1", "cb-a2", "dbcs-a", "khoi")]
    await asyncio.gather(*(deps.members.add_grant(member.id, g) for g in grants))
    stored = await deps.members.get(member.id)
    assert stored is not None and sorted(g.unit for g in stored.grants) == sorted(
        g.unit for g in grants)
    await deps.members.remove_grant(member.id, grants[0])
    stored = await deps.members.get(member.id)
    assert stored is not None and grants[0] not in stored.grants
