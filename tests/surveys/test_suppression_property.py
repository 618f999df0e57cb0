"""Property: over random unit trees, audiences, k and answer sets, recorded through the real
store on the real Valkey, no output (chat text, chart data, CSV, XLSX) shows a group of fewer
than k answers, alone or as its parent minus the children shown beside it; and no two views a
cadre can obtain differ by fewer than k answers: none while the survey is open, the same one
every time after closing. The stored counters themselves only ever move k answers at a time
per recording unit while the survey is open."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from redis.asyncio import Redis

from bot.org.models import Unit
from bot.org.tree import UnitStore
from bot.storage.keys import Keys
from bot.surveys.charts import chart_data
from bot.surveys.export import sheets, to_csv, to_xlsx
from bot.surveys.models import Kind, Question, Spec
from bot.surveys.report import Report, gather, render
from bot.surveys.store import SurveyStore
from tests.conftest import Clock

SECRET = b"property-test-secret-0123456789abcdef"
SPEC = Spec(title="Khảo sát thử tính chất", anonymous=True, questions=[
    Question(text="Một lựa chọn?", kind=Kind.SINGLE, options=["A", "B", "C"]),
    Question(text="Nhiều lựa chọn?", kind=Kind.MULTI, options=["X", "Y", "Z"], max_choices=2),
    Question(text="Ý kiến?", kind=Kind.TEXT)])


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[int], list[int], list[tuple[int, list[int], int]], int,
                                    int]:
    """(parent index per unit, home unit per member, answers of those who answer, k, split)."""
    units = draw(st.integers(1, 9))
    parents = [draw(st.integers(0, i - 1)) for i in range(1, units)]
    homes = draw(st.lists(st.integers(0, units - 1), min_size=1, max_size=28))
    answers = [(draw(st.integers(0, 2)), sorted(draw(st.sets(st.integers(0, 2), min_size=1,
                                                             max_size=2))), i)
               for i in range(len(homes)) if draw(st.booleans())]
    k = draw(st.sampled_from([2, 3, 5]))
    return parents, homes, answers, k, draw(st.integers(0, len(answers)))


def names(report: Report, units: set[str]) -> set[str]:
    return {report.tree.units[u].name for u in units}


def check_report(report: Report) -> None:
    """The suppression properties of one view, on the result and on every output."""
    k, root = report.k, report.survey.unit
    shown = {r.unit for r in report.rows if r.shown}
    assert set(report.cells) == shown | {root}
    assert all(report.cells[u].answers >= k for u in shown)
    total = report.total
    if total.answers < k:
        assert not total.counts and not report.rows and not report.texts
        assert chart_data(report) == []
    # Parent minus the children shown beside it: nothing or at least k.
    for parent in {root} | shown:
        listed = [r.unit for r in report.rows
                  if report.tree.units[r.unit].parent == parent]
        if listed:
            rest = report.cells[parent].answers - sum(report.cells[c].answers
                                                      for c in listed if c in shown)
            assert rest == 0 or rest >= k, (parent, rest)
    visible = names(report, shown | {root})
    for title, _header, rows in sheets(report, []):
        column = {"Tổng hợp": 2, "Tỷ lệ trả lời": 0, "Ý kiến": 2}[title]
        assert {row[column] for row in rows} <= visible, title
    for panel in chart_data(report)[len([q for q in report.survey.questions
                                         if q.kind is not Kind.TEXT]):]:
        assert {label for label, _ in panel.bars} <= visible
    for line in render(report, report.survey.closes_at).splitlines():
        if line.lstrip().startswith("• ") and "/" in line:  # a unit's figures
            assert line.lstrip()[2:].split(":")[0] in visible, line
    csv_rows = list(csv.reader(io.StringIO(to_csv(report, []).decode("utf-8-sig"))))
    book = load_workbook(io.BytesIO(to_xlsx(report, [])))
    for title, _header, rows in sheets(report, []):
        assert len(list(book[title].iter_rows())) == len(rows) + 1
    assert len(csv_rows) == sum(len(rows) + 3 for _t, _h, rows in sheets(report, []))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=cases())
async def test_no_output_singles_out_a_group_under_k(redis: Redis, clock: Clock,
                                                     case: tuple[list[int], list[int],
                                                                 list[tuple[int, list[int], int]],
                                                                 int, int]) -> None:
    parents, homes, answers, k, split = case
    await redis.flushall()
    keys = Keys("dv")
    units = UnitStore(redis, keys)
    await units.import_units([Unit(id="u0", name="Đơn vị 0")] + [
        Unit(id=f"u{i + 1}", name=f"Đơn vị {i + 1}", parent=f"u{p}")
        for i, p in enumerate(parents)])
    tree = await units.tree()
    for member, home in enumerate(homes):
        await redis.sadd(keys.unit_members(f"u{home}"), str(member + 1))
    store = SurveyStore(redis, keys, SECRET, k)
    now = clock()
    survey = await store.open(SPEC, unit="u0", author_name="X", tree=tree, now=now,
                              closes_at=now + timedelta(days=1))
    tallies = [await store.tally(survey.id)]
    for count, (single, multi, member) in enumerate(answers, start=1):
        await store.record(survey, str(member + 1), [single, multi, f"ý kiến {member}"])
        if count == split:
            tallies.append(await store.tally(survey.id))
    tallies.append(await store.tally(survey.id))
    # While open: no view at all, and stored counters move k or more at a time.
    assert not survey.results_visible(now + timedelta(hours=1))
    for before, after in itertools.pairwise(tallies):
        for field in {f for f in after if f.startswith("n|")}:
            moved = after[field] - before.get(field, 0)
            assert moved == 0 or moved >= k, (field, moved)
    closed = await store.close(survey, now + timedelta(hours=2))
    assert closed.results_visible(now + timedelta(hours=2))
    first = await gather(store, closed, tree, all_texts=True)
    second = await gather(store, closed, tree, all_texts=True)
    check_report(first)
    assert first.total.answers == len(answers)  # every answer counted at closing
    assert to_csv(first, []) == to_csv(second, [])  # a later view shows exactly the same
    assert chart_data(first) == chart_data(second)
    assert not [key async for key in redis.scan_iter(match="*pending*")]  # nothing waits
