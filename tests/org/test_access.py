"""Role scopes: a role reaches its unit and everything below, nothing else."""

from __future__ import annotations

from bot.deps import Deps
from bot.org import access
from bot.org.models import Role
from tests.conftest import make_member


async def test_cadre_scope_is_a_subtree(deps: Deps) -> None:
    tree = await deps.units.tree()
    cadre = await make_member(deps, user_id="c", unit="cb-a1", grants=((Role.CADRE, "dbcs-a"),))
    assert access.can(cadre, Role.CADRE, "dbcs-a", tree)
    assert access.can(cadre, Role.CADRE, "cb-a2", tree)
    assert not access.can(cadre, Role.CADRE, "khoi", tree)
    assert not access.can(cadre, Role.CADRE, "cb-b1", tree)
    assert not access.can(cadre, Role.ADMIN, "cb-a2", tree)
    assert not access.can(cadre, Role.CADRE, "no-such-unit", tree)


async def test_admin_implies_other_roles_in_scope(deps: Deps) -> None:
    tree = await deps.units.tree()
    admin = await make_member(deps, user_id="a", unit="khoi", grants=((Role.ADMIN, "khoi"),))
    for role in Role:
        assert access.can(admin, role, "cb-b1", tree)
    assert access.grantable_roles(admin, "cb-b1", tree) == list(Role)


async def test_plain_member_has_only_their_own_unit(deps: Deps) -> None:
    tree = await deps.units.tree()
    member = await make_member(deps, user_id="m", unit="cb-a1")
    assert access.can(member, Role.MEMBER, "cb-a1", tree)
    assert not access.can(member, Role.MEMBER, "cb-a2", tree)
    assert access.grantable_roles(member, "cb-a1", tree) == []
    assert not access.has_any(member, Role.CADRE)


async def test_cadre_may_only_invite_members(deps: Deps) -> None:
    tree = await deps.units.tree()
    cadre = await make_member(deps, user_id="c", unit="cb-a1", grants=((Role.CADRE, "dbcs-a"),))
    assert access.grantable_roles(cadre, "cb-a2", tree) == [Role.MEMBER]
    assert access.grantable_roles(cadre, "cb-b1", tree) == []


async def test_top_scopes_drop_nested_grants(deps: Deps) -> None:
    tree = await deps.units.tree()
    both = await make_member(deps, user_id="b", unit="cb-a1",
                             grants=((Role.CADRE, "cb-a1"), (Role.CADRE, "dbcs-a")))
    assert access.top_scopes(both, Role.CADRE, tree) == ["dbcs-a"]
