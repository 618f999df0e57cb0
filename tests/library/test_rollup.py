"""Coverage from the subtree sums a process keeps (`CoverageCounts`) equals coverage counted
unit by unit, for every unit and audience, after members join, acknowledgements arrive, units
are added and a unit moves to another parent; and a report that has nothing new to count
reads only the two versions."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.deps import Deps
from bot.library.coverage import coverage
from bot.library.rollup import CoverageCounts
from bot.org.models import Unit
from tests.conftest import UNITS, make_member

DOC = "25-nq-tw"


async def same_everywhere(deps: Deps, counts: CoverageCounts) -> None:
    """Every unit, with no audience and with each unit as the audience: kept sums give the
    report that counting every unit gives."""
    tree = await deps.units.tree()
    for unit in tree.units:
        for audience in (None, *tree.units):
            kept = await coverage(deps.redis, deps.keys, tree, DOC, unit, audience, counts)
            counted = await coverage(deps.redis, deps.keys, tree, DOC, unit, audience)
            assert kept == counted, (unit, audience)


async def test_kept_sums_follow_joins_acks_and_tree_changes(deps: Deps) -> None:
    counts = deps.library.sizes
    assert isinstance(counts, CoverageCounts)
    ids = {}
    for user, unit in (("a1", "cb-a1"), ("a2", "cb-a1"), ("a3", "cb-a2"), ("a4", "dbcs-a"),
                       ("b1", "cb-b1"), ("k1", "khoi")):
        ids[user] = (await make_member(deps, user_id=user, unit=unit)).id
    await same_everywhere(deps, counts)
    for user in ("a1", "a4", "k1"):  # acknowledgements arrive after the sums were kept
        await deps.library.ack(DOC, ids[user], (await deps.members.get(ids[user])).unit)
        await same_everywhere(deps, counts)
    ids["b2"] = (await make_member(deps, user_id="b2", unit="cb-b1")).id  # a join
    await deps.library.ack(DOC, ids["b2"], "cb-b1")
    await same_everywhere(deps, counts)
    await deps.units.import_units([*UNITS, Unit(id="cb-b2", name="Chi bộ B2", kind="chi_bo",
                                                parent="dbcs-b")])  # a unit added
    ids["c1"] = (await make_member(deps, user_id="c1", unit="cb-b2")).id
    await deps.library.ack(DOC, ids["c1"], "cb-b2")
    await same_everywhere(deps, counts)
    moved = Unit(id="cb-a2", name="Chi bộ A2", kind="chi_bo", parent="dbcs-b")
    await deps.units.import_units([u if u.id != "cb-a2" else moved for u in UNITS])
    tree = await deps.units.tree()
    assert tree.units["cb-a2"].parent == "dbcs-b"  # the unit moved with its members and acks
    await same_everywhere(deps, counts)
    report = await coverage(deps.redis, deps.keys, tree, DOC, "khoi", None, counts)
    assert {r.unit_id: (r.acked, r.members) for r in report.children} == {
        "dbcs-a": (2, 3), "dbcs-b": (2, 4)}


async def test_a_report_with_nothing_new_reads_two_versions(deps: Deps, redis: Redis) -> None:
    counts = deps.library.sizes
    assert isinstance(counts, CoverageCounts)
    for n, unit in enumerate(("cb-a1", "cb-a2", "cb-b1")):
        member = await make_member(deps, user_id=f"u{n}", unit=unit)
        await deps.library.ack(DOC, member.id, unit)
    tree = await deps.units.tree()
    await coverage(deps.redis, deps.keys, tree, DOC, "khoi", None, counts)
    seen: list[str] = []
    async with redis.monitor() as monitor:
        await coverage(deps.redis, deps.keys, tree, DOC, "khoi", None, counts)
        await redis.echo("end-of-watch")
        while (command := (await monitor.next_command())["command"]) != "ECHO end-of-watch":
            seen.append(command.split()[0])
    setup = {"CLIENT", "SELECT", "HELLO", "PING"}  # a fresh pooled connection's handshake
    assert sorted(c for c in seen if c not in setup) == ["SCARD", "ZCARD"]
