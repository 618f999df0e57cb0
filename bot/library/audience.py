"""Who a document is for, who may read it, who may change it, and who should hear about it."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.org import access
from bot.org.models import Member, Role
from bot.org.tree import OrgTree
from bot.storage.keys import Keys


def can_read(member: Member, audience: str | None, tree: OrgTree) -> bool:
    """Members of the audience subtree read it, and so do cadres whose scope covers it."""
    if audience is None:
        return True
    return tree.within(member.unit, audience) or access.can(member, Role.CADRE, audience, tree)


def can_manage(member: Member, audience: str | None, tree: OrgTree) -> bool:
    """May publish or replace a document for this audience (everyone: cadre of every root)."""
    if audience is None:
        roots = tree.roots()
        return bool(roots) and all(access.can(member, Role.CADRE, r, tree) for r in roots)
    return access.can(member, Role.CADRE, audience, tree)


def reach(tree: OrgTree, audience: str | None, root: str) -> list[str]:
    """Units under `root` whose members the document is for (depth first)."""
    units = tree.subtree(root)
    if audience is None:
        return units
    return [u for u in units if tree.within(u, audience)]


async def member_ids(redis: Redis, keys: Keys, units: list[str]) -> list[list[str]]:
    """Home members of each unit (one pipelined SMEMBERS per unit), sorted by id."""
    async with redis.pipeline(transaction=False) as pipe:
        for unit in units:
            pipe.smembers(keys.unit_members(unit))
        found = await pipe.execute()
    return [sorted((str(m) for m in members), key=_numeric) for members in found]


async def recipients(redis: Redis, keys: Keys, tree: OrgTree, audience: str | None) -> list[str]:
    """Member ids a notification about a new document should reach.

    This is the hand-off point for the delivery engine: publishing calls it and
    passes the ids on; nothing here sends anything.
    """
    roots = [audience] if audience is not None else tree.roots()
    ids: list[str] = []
    for root in roots:
        for members in await member_ids(redis, keys, reach(tree, audience, root)):
            ids.extend(members)
    return list(dict.fromkeys(ids))


def _numeric(member_id: str) -> tuple[int, str]:
    return (int(member_id), "") if member_id.isdigit() else (0, member_id)
