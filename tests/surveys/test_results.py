"""k-anonymity by hand-computed cases: small cells hidden and merged upward, complementary
suppression of the next-smallest sibling, free text from a small cell never attributed to it,
and recording granularity chosen at opening."""

from __future__ import annotations

from collections import Counter

from bot.org.tree import OrgTree
from bot.surveys.results import Cell, Row, breakdown, rollup, shown_owner, visible_children
from bot.surveys.store import recording_units
from tests.conftest import UNITS

TREE = OrgTree.of(UNITS)  # khoi > dbcs-a > cb-a1, cb-a2; khoi > dbcs-b > cb-b1
K = 5


def cells(**answers: int) -> dict[str, Cell]:
    """Recorded cells with `answers` respondents each (audience = answers + 1)."""
    recorded = {unit.replace("_", "-"): Cell(n + 1, n, Counter({"0|0": n}))
                for unit, n in answers.items()}
    return rollup(TREE, "khoi", recorded)


def test_all_cells_large_enough_are_all_shown() -> None:
    rows = breakdown(TREE, "khoi", cells(cb_a1=6, cb_a2=5, cb_b1=7), K)
    assert rows == [Row("dbcs-a", 1, True), Row("cb-a1", 2, True), Row("cb-a2", 2, True),
                    Row("dbcs-b", 1, True), Row("cb-b1", 2, True)]


def test_a_small_cell_hides_its_next_smallest_sibling_too() -> None:
    # dbcs-a = 9 is shown; cb-a2 (3) is hidden, and dbcs-a − cb-a1 would give 3 → hide cb-a1.
    rolled = cells(cb_a1=6, cb_a2=3, cb_b1=7)
    assert rolled["dbcs-a"].answers == 9 and rolled["khoi"].answers == 16
    rows = breakdown(TREE, "khoi", rolled, K)
    assert rows == [Row("dbcs-a", 1, True), Row("cb-a1", 2, False), Row("cb-a2", 2, False),
                    Row("dbcs-b", 1, True), Row("cb-b1", 2, True)]
    assert rolled["khoi"].counts["0|0"] == 16  # hidden answers stay in the parent's figures


def test_answers_recorded_at_the_parent_count_as_a_hidden_cell() -> None:
    # 2 answers recorded at khoi itself: khoi − dbcs-a − dbcs-b would reveal them, so the
    # smaller sibling (dbcs-b, 8) is hidden as well: 2 + 8 = 10 ≥ k.
    rows = breakdown(TREE, "khoi", cells(khoi=2, cb_a1=10, cb_b1=8), K)
    assert Row("dbcs-a", 1, True) in rows and Row("dbcs-b", 1, False) in rows
    assert Row("cb-b1", 2, True) not in rows  # nothing below a hidden cell is listed


def test_suppression_continues_until_the_hidden_part_reaches_k() -> None:
    rolled = {"p": Cell(20, 12), "a": Cell(5, 1), "b": Cell(5, 5), "c": Cell(5, 6)}
    # hidden a = 1 → hide b (5): 6 ≥ 5, stop; c stays.
    assert visible_children("p", ["a", "b", "c"], rolled, K) == {"c"}
    rolled = {"p": Cell(20, 11), "a": Cell(5, 0), "b": Cell(5, 5), "c": Cell(5, 6)}
    # hidden part is 0 (nobody answered in a): nothing to protect, b and c are shown.
    assert visible_children("p", ["a", "b", "c"], rolled, K) == {"b", "c"}


def test_below_k_overall_nothing_is_broken_down() -> None:
    assert breakdown(TREE, "khoi", cells(cb_a1=2, cb_b1=2), K) == []


def test_free_text_from_a_small_cell_goes_to_the_nearest_shown_unit() -> None:
    rows = breakdown(TREE, "khoi", cells(cb_a1=6, cb_a2=3, cb_b1=7), K)
    assert shown_owner(TREE, "khoi", "cb-a2", rows) == "dbcs-a"
    assert shown_owner(TREE, "khoi", "cb-a1", rows) == "dbcs-a"  # hidden by complement
    assert shown_owner(TREE, "khoi", "cb-b1", rows) == "cb-b1"
    rows = breakdown(TREE, "khoi", cells(khoi=2, cb_a1=10, cb_b1=8), K)
    assert shown_owner(TREE, "khoi", "cb-b1", rows) == "khoi"


def test_named_surveys_use_k_of_one() -> None:
    rows = breakdown(TREE, "khoi", cells(cb_a1=1, cb_a2=1, cb_b1=1), 1)
    assert all(r.shown for r in rows)


def test_recording_granularity_is_chosen_from_the_snapshot() -> None:
    homes = {**{f"a1-{i}": "cb-a1" for i in range(6)}, **{f"a2-{i}": "cb-a2" for i in range(3)},
             **{f"b1-{i}": "cb-b1" for i in range(2)}}
    assert recording_units(TREE, "khoi", homes, K) == {
        "cb-a1": "cb-a1", "cb-a2": "dbcs-a", "cb-b1": "khoi"}
    assert recording_units(TREE, "dbcs-a", {"x": "cb-a2"}, K) == {"cb-a2": "dbcs-a"}
