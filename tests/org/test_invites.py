"""Invites: atomic redemption, expiry, use counts, revocation, forgiving code entry."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from redis.asyncio import Redis

from bot.deps import Deps
from bot.org.invites import ALPHABET, CODE_LENGTH, InviteStatus, normalize_code
from bot.org.models import Role
from tests.conftest import Clock


async def test_codes_are_unguessable_and_typeable(deps: Deps, clock: Clock) -> None:
    codes = {(await deps.invites.create(unit="cb-a1", role=Role.MEMBER, created_by="t",
                                        max_uses=1, days=1, now=clock())).code
             for _ in range(50)}
    assert len(codes) == 50
    assert all(len(c) == CODE_LENGTH and set(c) <= set(ALPHABET) for c in codes)


def test_loosely_typed_codes_are_accepted() -> None:
    assert normalize_code("abcde-fghjk") == "ABCDEFGHJK"
    assert normalize_code(" ABCDE FGHJK ") == "ABCDEFGHJK"
    assert normalize_code("ABCDEFGHJ0") is None  # 0 is not in the alphabet
    assert normalize_code("xin chào") is None


async def test_use_count_and_idempotent_retry(deps: Deps, clock: Clock) -> None:
    invite = await deps.invites.create(unit="cb-a1", role=Role.MEMBER, created_by="t",
                                       max_uses=2, days=7, now=clock())
    assert await deps.invites.redeem(invite.code, "telegram:1", clock()) is InviteStatus.OK
    # The same account retrying (a resent message) does not burn another use.
    assert await deps.invites.redeem(invite.code, "telegram:1", clock()) is InviteStatus.OK
    assert await deps.invites.redeem(invite.code, "telegram:2", clock()) is InviteStatus.OK
    assert await deps.invites.redeem(invite.code, "telegram:3", clock()) is InviteStatus.USED_UP
    stored = await deps.invites.get(invite.code)
    assert stored is not None and stored.uses == 2


async def test_race_for_the_last_use_has_one_winner(deps: Deps, clock: Clock) -> None:
    invite = await deps.invites.create(unit="cb-a1", role=Role.MEMBER, created_by="t",
                                       max_uses=1, days=7, now=clock())
    results = await asyncio.gather(*(deps.invites.redeem(invite.code, f"telegram:{i}", clock())
                                     for i in range(20)))
    assert results.count(InviteStatus.OK) == 1
    assert results.count(InviteStatus.USED_UP) == 19


async def test_expiry_and_revocation(deps: Deps, clock: Clock) -> None:
    invite = await deps.invites.create(unit="cb-a1", role=Role.MEMBER, created_by="t",
                                       max_uses=5, days=1, now=clock())
    assert (await deps.invites.check(invite.code, clock())).status is InviteStatus.OK
    later = clock() + timedelta(days=1, seconds=1)
    assert (await deps.invites.check(invite.code, later)).status is InviteStatus.EXPIRED
    assert await deps.invites.redeem(invite.code, "telegram:1", later) is InviteStatus.EXPIRED
    assert await deps.invites.revoke(invite.code)
    assert await deps.invites.redeem(invite.code, "telegram:1", clock()) is InviteStatus.REVOKED
    assert await deps.invites.redeem("ABCDEFGHJK", "telegram:1", clock()) is InviteStatus.MISSING
    assert not await deps.invites.revoke("ABCDEFGHJK")


async def test_invites_expire_from_redis_eventually(deps: Deps, clock: Clock,
                                                    redis: Redis) -> None:
    invite = await deps.invites.create(unit="cb-a1", role=Role.MEMBER, created_by="t",
                                       max_uses=1, days=1, now=clock())
    ttl = await redis.ttl(deps.keys.invite(invite.code))
    assert ttl > 0  # kept for the audit trail, but not forever


async def test_list_filters_by_unit(deps: Deps, clock: Clock) -> None:
    a = await deps.invites.create(unit="cb-a1", role=Role.MEMBER, created_by="t", max_uses=1,
                                  days=1, now=clock())
    await deps.invites.create(unit="cb-b1", role=Role.CADRE, created_by="t", max_uses=1,
                              days=1, now=clock())
    assert [i.code for i in await deps.invites.list(unit="cb-a1")] == [a.code]
    assert len(await deps.invites.list()) == 2
