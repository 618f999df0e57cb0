"""Coverage computed from sets and counters: per child unit, audience-aware, the "not yet" list,
and the recipients of a new directive (the hand-off to the delivery engine)."""

from __future__ import annotations

from bot.deps import Deps
from bot.library.audience import recipients
from bot.library.coverage import coverage, not_acknowledged, not_acknowledged_page
from bot.library.models import Directive
from tests.conftest import make_member


async def _people(deps: Deps) -> dict[str, str]:
    ids = {}
    for user, unit in (("a1", "cb-a1"), ("a2", "cb-a1"), ("a3", "cb-a2"), ("a4", "dbcs-a"),
                       ("b1", "cb-b1"), ("b2", "cb-b1"), ("k1", "khoi")):
        ids[user] = (await make_member(deps, user_id=user, unit=unit)).id
    return ids


async def test_report_per_child_unit(deps: Deps) -> None:
    ids = await _people(deps)
    for user, unit in (("a1", "cb-a1"), ("a3", "cb-a2"), ("b1", "cb-b1"), ("k1", "khoi")):
        await deps.library.ack("25-nq-tw", ids[user], unit)
    tree = await deps.units.tree()
    report = await coverage(deps.redis, deps.keys, tree, "25-nq-tw", "khoi", None)
    assert (report.total.members, report.total.acked, report.total.percent) == (7, 4, 57)
    rows = {r.unit_id: (r.acked, r.members) for r in report.children}
    assert rows == {"dbcs-a": (2, 4), "dbcs-b": (1, 2)}
    assert (report.direct.acked, report.direct.members) == (1, 1)

    below = await coverage(deps.redis, deps.keys, tree, "25-nq-tw", "dbcs-a", None)
    assert {r.unit_id: r.percent for r in below.children} == {"cb-a1": 50, "cb-a2": 100}
    assert (below.direct.members, below.direct.acked) == (1, 0)  # a4 sits in dbcs-a itself

    missing = await not_acknowledged(deps.redis, deps.keys, tree, "25-nq-tw", "khoi", None)
    assert sorted(missing) == sorted([ids["a2"], ids["a4"], ids["b2"]])


async def test_audience_limits_who_counts(deps: Deps) -> None:
    ids = await _people(deps)
    tree = await deps.units.tree()
    report = await coverage(deps.redis, deps.keys, tree, "12-nq-du", "khoi", "dbcs-a")
    assert report.total.members == 4  # only Đảng bộ cơ sở A is the audience
    assert [r.unit_id for r in report.children] == ["dbcs-a"]
    missing = await not_acknowledged(deps.redis, deps.keys, tree, "12-nq-du", "khoi", "cb-a1")
    assert sorted(missing) == sorted([ids["a1"], ids["a2"]])
    assert await not_acknowledged(deps.redis, deps.keys, tree, "12-nq-du", "dbcs-b",
                                  "cb-a1") == []


async def test_recipients_of_a_new_directive(deps: Deps) -> None:
    ids = await _people(deps)
    tree = await deps.units.tree()
    doc = Directive(so_hieu="12-NQ/ĐU", issuer="Đảng ủy", issued="2024-01-02",  # type: ignore[arg-type]
                    title="Văn bản thử", summary="Tóm tắt văn bản thử.", audience="dbcs-a")
    found = await recipients(deps.redis, deps.keys, tree, doc.audience)
    assert sorted(found) == sorted([ids["a1"], ids["a2"], ids["a3"], ids["a4"]])
    assert len(await recipients(deps.redis, deps.keys, tree, None)) == 7


async def test_not_yet_pages_are_slices_of_the_whole_list(deps: Deps) -> None:
    """Each page, read from the units it falls in only, is exactly that slice of the full
    list (same order), with the total and page count of the full list."""
    units = ["cb-a1", "cb-a2", "dbcs-a", "cb-b1", "khoi"]
    ids = [(await make_member(deps, user_id=f"p{n}", unit=units[n % 5])).id for n in range(37)]
    for n, member_id in enumerate(ids):
        if n % 3 == 0:
            await deps.library.ack("25-nq-tw", member_id, units[n % 5])
    tree = await deps.units.tree()
    everyone = await not_acknowledged(deps.redis, deps.keys, tree, "25-nq-tw", "khoi", None)
    assert len(everyone) == 24
    for page in range(6):
        got = await not_acknowledged_page(deps.redis, deps.keys, tree, "25-nq-tw", "khoi",
                                          None, page, 5)
        assert (got.total, got.pages) == (24, 5)
        shown = min(page, 4)
        assert (got.page, got.ids) == (shown, everyone[shown * 5:shown * 5 + 5])
    few = await not_acknowledged_page(deps.redis, deps.keys, tree, "12-nq-du", "khoi",
                                      "cb-a1", 0, 5)
    assert (few.total, few.ids) == (8, (await not_acknowledged(
        deps.redis, deps.keys, tree, "12-nq-du", "khoi", "cb-a1"))[:5])
