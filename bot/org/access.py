"""Who may do what where. Every cadre/reviewer/admin action calls this on the server."""

from __future__ import annotations

from bot.org.models import Member, Role
from bot.org.tree import OrgTree

# A higher role includes the lower ones within the same subtree.
IMPLIED: dict[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset(Role),
    Role.CADRE: frozenset({Role.CADRE, Role.MEMBER}),
    Role.REVIEWER: frozenset({Role.REVIEWER, Role.MEMBER}),
    Role.LISTENER: frozenset({Role.LISTENER, Role.MEMBER}),
    Role.MEMBER: frozenset({Role.MEMBER}),
}


class Forbidden(Exception):
    """The actor lacks the role for that unit; the message is safe to show."""


def scopes(member: Member, role: Role) -> list[str]:
    """Roots of the subtrees where `member` holds `role` (directly or implied)."""
    roots = [g.unit for g in member.grants if role in IMPLIED[g.role]]
    if role is Role.MEMBER and member.unit not in roots:
        roots.append(member.unit)
    return roots


def can(member: Member, role: Role, unit_id: str, tree: OrgTree) -> bool:
    """True if `member` holds `role` over `unit_id`."""
    if tree.get(unit_id) is None:
        return False
    return any(tree.within(unit_id, root) for root in scopes(member, role))


def require(member: Member, role: Role, unit_id: str, tree: OrgTree) -> None:
    """Raise Forbidden unless `member` holds `role` over `unit_id`."""
    if not can(member, role, unit_id, tree):
        raise Forbidden("Đồng chí không có quyền thực hiện thao tác này với đơn vị đã chọn.")


def top_scopes(member: Member, role: Role, tree: OrgTree) -> list[str]:
    """Scope roots with nested ones removed (a Khối grant covers its chi bộ grants)."""
    roots = [r for r in scopes(member, role) if tree.get(r) is not None]
    return [r for r in dict.fromkeys(roots)
            if not any(o != r and tree.within(r, o) for o in roots)]


def grantable_roles(member: Member, unit_id: str, tree: OrgTree) -> list[Role]:
    """Roles `member` may hand out at `unit_id` through an invite."""
    if can(member, Role.ADMIN, unit_id, tree):
        return [Role.MEMBER, Role.CADRE, Role.REVIEWER, Role.LISTENER, Role.ADMIN]
    if can(member, Role.CADRE, unit_id, tree):
        return [Role.MEMBER]
    return []


def has_any(member: Member, role: Role) -> bool:
    """True if the member holds `role` anywhere (for showing menu items)."""
    return any(role in IMPLIED[g.role] for g in member.grants) or role is Role.MEMBER


STAFF = (Role.CADRE, Role.REVIEWER, Role.LISTENER, Role.ADMIN)


def is_staff(member: Member) -> bool:
    """Cadres, reviewers, listeners and admins (anywhere): who may use the web dashboard."""
    return any(has_any(member, role) for role in STAFF)
