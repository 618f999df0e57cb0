"""Who a broadcast reaches: the subtree, the roles, the channel, and the report group."""

from __future__ import annotations

import time

from bot.broadcasts.service import recipients_of
from bot.delivery.reach import Facts
from bot.deps import Deps
from bot.org.models import Role
from bot.org.tree import group_of
from tests.conftest import make_member


async def test_audience_is_the_subtree_grouped_by_child_unit(deps: Deps) -> None:
    await make_member(deps, user_id="1", unit="cb-a1")
    await make_member(deps, user_id="2", unit="cb-a2", grants=((Role.CADRE, "cb-a2"),))
    await make_member(deps, user_id="3", unit="dbcs-a")
    await make_member(deps, user_id="4", unit="cb-b1")
    await make_member(deps, channel="demo", user_id="p9", unit="cb-a1")
    tree = await deps.units.tree()
    everyone = await deps.broadcasts.audience(tree, "dbcs-a", [])
    assert sorted((r.address, r.channel, r.group) for r in everyone) == [
        ("1", "telegram", "cb-a1"), ("2", "telegram", "cb-a2"), ("3", "telegram", "dbcs-a"),
        ("p9", "demo", "cb-a1")]
    cadres = await deps.broadcasts.audience(tree, "khoi", [Role.CADRE])
    assert [(r.address, r.group) for r in cadres] == [("2", "dbcs-a")]


async def test_members_without_a_deliverable_account_are_listed_without_channel(
        deps: Deps) -> None:
    member = await make_member(deps, channel="sms", user_id="z1", unit="cb-b1")
    [recipient] = recipients_of([member], await deps.units.tree(), "khoi", [],
                                Facts(time.time()))
    assert (recipient.channel, recipient.address, recipient.group) == (None, "", "dbcs-b")
    assert recipient.reason == "no_account"


async def test_group_of(deps: Deps) -> None:
    tree = await deps.units.tree()
    assert group_of(tree, "cb-a1", "khoi") == "dbcs-a"
    assert group_of(tree, "cb-a1", "dbcs-a") == "cb-a1"
    assert group_of(tree, "dbcs-a", "dbcs-a") == "dbcs-a"
