"""The monthly report never shows a cell of anonymous threads under k: not in a row, not in the
pooled row, not by subtracting one table's rows from its total or from the other table."""

from __future__ import annotations

import random

from redis.asyncio import Redis

from bot.org.tree import OrgTree
from bot.storage.keys import Keys
from bot.tamtu.report import POOL, Report, build, groups, rollup, smallest_anonymous_cell
from bot.tamtu.store import ThreadStore
from handlers.tamtu.report import render
from tests.conftest import UNITS

TREE = OrgTree.of(UNITS)
TOPICS = ("cong-viec", "doi-song", "che-do", "khac")
K = 5


def counters(cells: dict[tuple[str, str, str], int]) -> dict[str, int]:
    """Counters with `n` threads per (unit, topic, a|n), half of them answered in 2 days."""
    out: dict[str, int] = {}
    for (unit, topic, kind), n in cells.items():
        out[f"{unit}|{topic}|{kind}|n"] = n
        out[f"{unit}|{topic}|{kind}|ans"] = n // 2
        out[f"{unit}|{topic}|{kind}|days"] = 2 * (n // 2)
        out[f"{unit}|{topic}|{kind}|sat"] = n // 3
    return out


def report_of(cells: dict[str, int], root: str) -> Report:
    """The report as the handler builds it, rolled up in Python."""
    return build(rollup(cells, groups(TREE, root)), root, "2026-11", K)


def test_small_anonymous_cells_are_pooled_and_the_pool_reaches_k() -> None:
    report = report_of(counters({("cb-a1", "cong-viec", "a"): 6, ("cb-a1", "doi-song", "a"): 3,
                                 ("cb-b1", "che-do", "a"): 1, ("cb-a1", "che-do", "n"): 2}),
                       "khoi")
    rows = {r.key: r for r in report.by_topic}
    assert rows["doi-song"].pooled and rows["doi-song"].shown.n == 0
    assert rows["che-do"].pooled and rows["che-do"].shown.n == 2  # the named part stays
    # The pool (3 + 1) was under k, so the smallest shown part (6) joined it.
    assert rows["cong-viec"].pooled and rows["cong-viec"].shown.n == 0
    assert rows[POOL].anonymous.n == 10 and report.total.n == 12
    assert smallest_anonymous_cell(report) == 10  # only the pooled row shows anonymous ones
    units = {r.key: r for r in report.by_unit}  # cb-a1 and cb-b1 roll up into their đảng bộ
    # dbcs-b's single anonymous thread cannot stand alone, nor be the pool: dbcs-a's 9 join it.
    assert units["dbcs-b"].pooled and units["dbcs-b"].shown.n == 0
    assert units["dbcs-a"].pooled and units["dbcs-a"].shown.n == 2
    assert units[POOL].anonymous.n == 10


def test_fewer_than_k_anonymous_threads_show_none() -> None:
    report = report_of(counters({("cb-a1", "cong-viec", "a"): 4, ("cb-a1", "khac", "n"): 3}),
                       "khoi")
    assert report.total.n == 3 and POOL not in {r.key for r in report.by_topic}
    text = render(report, TREE, lambda t: t, K)
    assert "nhận 4" not in text and "nhận 3" in text


def test_random_months_never_show_a_cell_under_k() -> None:
    rng = random.Random(17)
    units = [u.id for u in UNITS]
    for _ in range(500):
        cells = {(rng.choice(units), rng.choice(TOPICS), rng.choice("an")): rng.randint(1, 7)
                 for _ in range(rng.randint(1, 12))}
        for root in ("khoi", "dbcs-a"):
            report = report_of(counters(cells), root)
            for row in (*report.by_topic, *report.by_unit):
                if not row.pooled and row.anonymous.n:
                    assert row.anonymous.n >= K, (cells, row)
            by_topic = sum(r.shown.n for r in report.by_topic)
            by_unit = sum(r.shown.n for r in report.by_unit)
            assert by_topic == by_unit == report.total.n
            inside = set(TREE.subtree(root))
            named = sum(n for (u, _t, kind), n in cells.items() if kind == "n" and u in inside)
            anonymous = sum(n for (u, _t, kind), n in cells.items() if kind == "a" and u in inside)
            assert report.total.n == named + (anonymous if anonymous >= K else 0)


async def test_the_server_rollup_matches_the_python_one(redis: Redis) -> None:
    rng = random.Random(5)
    units = [u.id for u in UNITS]
    cells = {(rng.choice(units), rng.choice(TOPICS), rng.choice("an")): rng.randint(1, 9)
             for _ in range(40)}
    store = ThreadStore(redis, Keys("dv"))
    await store.count("2026-11", counters(cells))
    for root in ("khoi", "dbcs-a", "cb-b1"):
        rows = groups(TREE, root)
        assert await store.rolled_up("2026-11", rows) == rollup(counters(cells), rows)
