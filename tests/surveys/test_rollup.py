"""Counters rolled up when counted: every unit's row is the sum of what was counted in its
subtree (its own recorded counters plus its children's rows) at every moment — while open, after
the leftovers are settled at closing, after a crash between casting and counting, after a
closing interrupted and run again — and results built from the rows are the very ones built
from every recording unit's counters. A results view reads the survey unit's row and its
children's (a second level only where the chat shows it), never every recording unit."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from bot.org.models import Unit
from bot.org.tree import OrgTree, UnitStore
from bot.privacy.seal import Sealer
from bot.storage.keys import Keys
from bot.surveys.ballots import Ballots
from bot.surveys.charts import chart_data
from bot.surveys.export import to_csv
from bot.surveys.models import Kind, Question, Spec, Survey
from bot.surveys.report import CHAT_ROWS, gather, render, suppressed
from bot.surveys.results import Cell, recorded_cells, rollup
from bot.surveys.rows import Rows
from bot.surveys.store import SurveyStore
from tests.conftest import Clock

SECRET = b"rollup-test-secret-0123456789abcdef0123"
KEYS = Keys("dv")
SPEC = Spec(title="Khảo sát cộng dồn", anonymous=True, questions=[
    Question(text="Một lựa chọn?", kind=Kind.SINGLE, options=["A", "B", "C"]),
    Question(text="Nhiều lựa chọn?", kind=Kind.MULTI, options=["X", "Y", "Z"], max_choices=2),
    Question(text="Ý kiến?", kind=Kind.TEXT)])
NAMED = SPEC.model_copy(update={"anonymous": False, "allow_change": True})


async def org(redis: Redis, units: list[Unit], homes: list[str]) -> OrgTree:
    """Import `units`; member n + 1 lives in homes[n]."""
    store = UnitStore(redis, KEYS)
    await store.import_units(units)
    for member, home in enumerate(homes):
        await redis.sadd(KEYS.unit_members(home), str(member + 1))
    return await store.tree()


async def stored_rows(redis: Redis, sid: str) -> tuple[dict[str, Cell], dict[str, list[str]]]:
    """Every unit's row as stored, and the children each unit's row is the sum of."""
    shape = await redis.hgetall(KEYS.survey_shape(sid))
    rows: dict[str, Cell] = {}
    for unit in (f[2:] for f in shape if f.startswith("u|")):
        flat = {f: int(v) for f, v in (await redis.hgetall(KEYS.survey_row(sid, unit))).items()}
        rows[unit] = Cell(flat.pop("a", 0), flat.pop("n", 0), Counter(flat))
    kids = {f[2:]: str(v).split(",") for f, v in shape.items() if f.startswith("c|")}
    return rows, kids


async def check_rolled_up(redis: Redis, store: SurveyStore, survey: Survey, tree: OrgTree
                          ) -> dict[str, Cell]:
    """Each row = its unit's own counters + its children's rows = what `rollup` computes
    from every recording unit's counters. Returns the rows."""
    rows, kids = await stored_rows(redis, survey.id)
    recorded = recorded_cells(await store.tally(survey.id))
    expected = rollup(tree, survey.unit, recorded)
    assert survey.unit in rows
    for unit in set(rows) | set(expected):
        assert rows.get(unit, Cell()) == expected.get(unit, Cell()), unit
    for unit, row in rows.items():
        total = Cell()
        total.add(recorded.get(unit, Cell()))
        for child in kids.get(unit, []):
            total.add(rows[child])
        assert total == row, unit
    assert set(recorded) <= set(rows)  # every recording unit has its row
    for unit, children in kids.items():  # the children hash: each child's row at a glance
        stored = await redis.hgetall(KEYS.survey_kids(survey.id, unit))
        assert {f: int(v) for f, v in stored.items() if f != "v"} == {
            **{f"a|{c}": rows[c].audience for c in children},
            **{f"n|{c}": rows[c].answers for c in children if rows[c].answers},
            **{f"d|{c}": 1 for c in children if c in kids}}, unit
    return rows


async def same_as_every_recording_unit(store: SurveyStore, survey: Survey, tree: OrgTree
                                       ) -> None:
    """Results from the rows are exactly those from every recording unit's counters."""
    full = suppressed(survey, tree, store.min_group if survey.anonymous else 1,
                      await store.tally(survey.id))
    report = await gather(store, survey, tree, all_texts=True)
    assert (report.cells, report.rows) == (full.cells, full.rows)
    if len(full.rows) <= CHAT_ROWS:  # the chat's view too (sizes from the children hashes)
        chat = await gather(store, survey, tree)
        assert (chat.cells, chat.rows, chat.trimmed) == (full.cells, full.rows, False)
    chat = await gather(store, survey, tree)
    sample = {"texts": chat.texts, "text_counts": chat.text_counts}
    assert render(chat, survey.closes_at) == render(replace(full, **sample), survey.closes_at)
    assert chart_data(chat) == chart_data(full)
    every = {"texts": report.texts, "text_counts": report.text_counts}
    assert to_csv(report, []) == to_csv(replace(full, **every), [])


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[int], list[int], list[tuple[int, list[int], int]],
                                    int, bool]:
    """(parent index per unit, home unit per member, answers in order — a member may answer
    again, which replaces a named answer — k, anonymous)."""
    units = draw(st.integers(1, 9))
    parents = [draw(st.integers(0, i - 1)) for i in range(1, units)]
    homes = draw(st.lists(st.integers(0, units - 1), min_size=1, max_size=26))
    answers = [(draw(st.integers(0, 2)), sorted(draw(st.sets(st.integers(0, 2), min_size=1,
                                                             max_size=2))),
                draw(st.integers(0, len(homes) - 1)))
               for _ in range(draw(st.integers(0, 30)))]
    return parents, homes, answers, draw(st.sampled_from([2, 3, 5])), draw(st.booleans())


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=cases())
async def test_every_row_is_the_sum_of_its_subtree_at_every_step(
        redis: Redis, clock: Clock,
        case: tuple[list[int], list[int], list[tuple[int, list[int], int]], int, bool]) -> None:
    parents, homes, answers, k, anonymous = case
    await redis.flushall()
    tree = await org(redis, [Unit(id="u0", name="Đơn vị 0")] + [
        Unit(id=f"u{i + 1}", name=f"Đơn vị {i + 1}", parent=f"u{p}")
        for i, p in enumerate(parents)], [f"u{h}" for h in homes])
    store = SurveyStore(redis, KEYS, SECRET, k)
    now = clock()
    survey = await store.open(SPEC if anonymous else NAMED, unit="u0", author_name="X",
                              tree=tree, now=now, closes_at=now + timedelta(days=1))
    history = [await check_rolled_up(redis, store, survey, tree)]
    for single, multi, member in answers:
        await store.record(survey, str(member + 1), [single, multi, f"ý kiến {member}"])
        history.append(await check_rolled_up(redis, store, survey, tree))
    if anonymous:  # while open, every row moves k answers at a time, as the tally does
        for before, after in itertools.pairwise(history):
            for unit, row in after.items():
                moved = row.answers - before[unit].answers
                assert moved == 0 or moved >= k, (unit, moved)
    closed = await store.close(survey, now + timedelta(hours=2))
    rows = await check_rolled_up(redis, store, closed, tree)
    assert rows["u0"].answers == len({m for _s, _m, m in answers})  # leftovers counted too
    await same_as_every_recording_unit(store, closed, tree)


# --------------------------------------------------------------------------- crashes
KHOI = [Unit(id="khoi", name="Đảng bộ Khối"),
        Unit(id="dbcs-a", name="Đảng bộ cơ sở A", parent="khoi"),
        Unit(id="cb-a1", name="Chi bộ A1", parent="dbcs-a"),
        Unit(id="cb-a2", name="Chi bộ A2", parent="dbcs-a"),
        Unit(id="dbcs-b", name="Đảng bộ cơ sở B", parent="khoi"),
        Unit(id="cb-b1", name="Chi bộ B1", parent="dbcs-b")]


async def opened(redis: Redis, clock: Clock, homes: list[str]
                 ) -> tuple[SurveyStore, Survey, OrgTree]:
    tree = await org(redis, KHOI, homes)
    store = SurveyStore(redis, KEYS, SECRET, 5)
    now = clock()
    survey = await store.open(SPEC, unit="khoi", author_name="X", tree=tree, now=now,
                              closes_at=now + timedelta(days=1))
    return store, survey, tree


def answer(n: int) -> list[object]:
    return [n % 3, [n % 3], f"ý kiến {n}"]


async def test_answers_left_uncounted_by_a_crash_are_counted_once_by_the_next_answer(
        redis: Redis, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies right after the 5th answer of a chi bộ was queued, before counting:
    the 6th answer counts all six, once, into every row up to the Khối."""
    store, survey, tree = await opened(redis, clock, ["cb-a1"] * 7 + ["cb-b1"] * 5)
    for n in range(1, 5):
        assert await store.record(survey, str(n), answer(n)) == 1
    counting = Ballots.count

    async def dies(*_args: object, **_kwargs: object) -> bool:
        raise ConnectionError("the worker died")

    monkeypatch.setattr(Ballots, "count", dies)
    with pytest.raises(ConnectionError):
        await store.record(survey, "5", answer(5))
    monkeypatch.setattr(Ballots, "count", counting)
    rows = await check_rolled_up(redis, store, survey, tree)
    assert rows["khoi"].answers == 0  # five wait, sealed, uncounted
    assert await store.record(survey, "6", answer(6)) == 1
    rows = await check_rolled_up(redis, store, survey, tree)
    assert [rows[u].answers for u in ("khoi", "dbcs-a", "cb-a1")] == [6, 6, 6]
    assert rows["khoi"].counts["0|0"] == 2 and rows["dbcs-a"].counts["1|2"] == 2
    await store.record(survey, "7", answer(7))  # waits: 1 < k, joins cb-a1 at closing
    closed = await store.close(survey, clock() + timedelta(hours=1))
    rows = await check_rolled_up(redis, store, closed, tree)
    assert [rows[u].answers for u in ("khoi", "dbcs-a", "cb-a1")] == [7, 7, 7]


async def test_a_closing_interrupted_and_run_again_counts_nothing_twice(
        redis: Redis, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Leftovers at closing: one answer joins its chi bộ (which holds k), two of a chi bộ
    under k go to the Khối's own counters ("gộp vào cấp trên"). A crash after settling and
    before noting it settles again: the rows do not move, and every view is the same."""
    store, survey, tree = await opened(redis, clock, ["cb-a1"] * 6 + ["cb-b1"] * 5)
    for n in [*range(1, 7), 7, 8]:
        await store.record(survey, str(n), answer(n))
    assert (await stored_rows(redis, survey.id))[0]["khoi"].answers == 5

    async def dies(*_args: object) -> None:
        raise ConnectionError("the worker died")

    noting = Rows.mark_settled
    monkeypatch.setattr(Rows, "mark_settled", dies)
    later = clock() + timedelta(hours=1)
    with pytest.raises(ConnectionError):
        await store.close(survey, later)
    monkeypatch.setattr(Rows, "mark_settled", noting)
    closed = (await store.get(survey.id)) or survey
    first = await check_rolled_up(redis, store, closed, tree)
    assert [first[u].answers for u in ("khoi", "dbcs-a", "cb-a1", "dbcs-b")] == [8, 6, 6, 0]
    tally = await store.tally(survey.id)
    assert tally["n|khoi"] == 2 and tally["n|cb-a1"] == 6  # where the leftovers went
    for _ in range(2):  # settles again, then is noted as settled and skipped
        await store.retire(closed)
        assert await check_rolled_up(redis, store, closed, tree) == first
    assert await store.rows.settled(closed.id)
    await same_as_every_recording_unit(store, closed, tree)
    text = render(await gather(store, closed, tree), later)
    assert "Đảng bộ cơ sở B: — (gộp vào cấp trên)" in text
    assert not [key async for key in redis.scan_iter(match="*pending*")]


async def test_a_repeated_count_of_the_same_answers_adds_nothing(
        redis: Redis, clock: Clock) -> None:
    """A count replayed with what another process already counted is refused whole."""
    store, survey, tree = await opened(redis, clock, ["cb-a1"] * 10)
    for n in range(1, 4):
        await store.record(survey, str(n), answer(n))
    ballots = Ballots(redis, KEYS, Sealer(SECRET), 5, store.rows)
    chain = ["cb-a1", "dbcs-a", "khoi"]
    assert await ballots.count(survey.id, ["cb-a1"], into="cb-a1", chain=chain, at_least=1)
    counted = await check_rolled_up(redis, store, survey, tree)
    assert not await ballots.count(survey.id, ["cb-a1"], into="cb-a1", chain=chain,
                                   at_least=1)
    assert await check_rolled_up(redis, store, survey, tree) == counted
    assert counted["khoi"].answers == 3


async def test_a_named_answer_changed_moves_every_row_above_it(
        redis: Redis, clock: Clock) -> None:
    tree = await org(redis, KHOI, ["cb-a1", "cb-b1"])
    store = SurveyStore(redis, KEYS, SECRET, 5)
    now = clock()
    survey = await store.open(NAMED, unit="khoi", author_name="X", tree=tree, now=now,
                              closes_at=now + timedelta(days=1))
    await store.record(survey, "1", [0, [0, 1], "lần đầu"])
    assert await store.record(survey, "1", [2, [2], "lần sau"]) == 2  # replaced
    rows = await check_rolled_up(redis, store, survey, tree)
    for unit in ("khoi", "dbcs-a", "cb-a1"):
        assert rows[unit].answers == 1
        assert +rows[unit].counts == Counter({"0|2": 1, "1|2": 1, "2|t": 1}), unit
    assert rows["dbcs-b"].answers == 0 and rows["dbcs-b"].audience == 1
    assert await store.answered(survey) == 1


async def test_a_survey_opened_before_the_rows_existed_is_read_from_its_tally(
        redis: Redis, clock: Clock) -> None:
    """No shape (opened by an earlier version): answers still count, results come from
    every recording unit's counters, as before."""
    tree = await org(redis, KHOI, ["cb-a1"] * 6 + ["cb-b1"] * 5)
    store = SurveyStore(redis, KEYS, SECRET, 5)
    now = clock()
    survey = await store.open(NAMED, unit="khoi", author_name="X", tree=tree, now=now,
                              closes_at=now + timedelta(days=1))
    older = [KEYS.survey_shape(survey.id), *(KEYS.survey_row(survey.id, u.id) for u in KHOI)]
    await redis.delete(*older)
    for n in range(1, 12):
        await store.record(survey, str(n), answer(n))
    assert not [k async for k in redis.scan_iter(match="*:row:*")]
    report = await gather(store, survey, tree)
    assert report.total.answers == 11 and await store.answered(survey) == 11
    full = suppressed(survey, tree, 1, await store.tally(survey.id))
    assert (report.cells, report.rows) == (full.cells, full.rows)


# --------------------------------------------------------------------------- what is read
async def watched(redis: Redis, action: Callable[[], Awaitable[object]]) -> list[str]:
    """Every command the server ran during `action`, those of scripts included (MONITOR)."""
    seen: list[str] = []
    async with redis.monitor() as monitor:
        await action()
        await redis.echo("end-of-watch")
        while (command := (await monitor.next_command())["command"]) != "ECHO end-of-watch":
            seen.append(command)
    return seen


def rows_touched(commands: list[str], sid: str) -> set[str]:
    prefix = f"dv:{{sv:{sid}}}:row:"
    return {word[len(prefix):] for c in commands for word in c.split() if word.startswith(prefix)}


async def _everyone_answered(redis: Redis, clock: Clock, units: list[Unit], homes: list[str]
                             ) -> tuple[SurveyStore, Survey, OrgTree, datetime]:
    """A survey of the whole Khối (k = 2), answered once from each home, then closed."""
    tree = await org(redis, units, homes)
    store = SurveyStore(redis, KEYS, SECRET, 2)
    now = clock()
    survey = await store.open(SPEC, unit="khoi", author_name="X", tree=tree, now=now,
                              closes_at=now + timedelta(days=1))
    for n in range(1, len(homes) + 1):
        await store.record(survey, str(n), answer(n))
    return store, await store.close(survey, now + timedelta(hours=1)), tree, now


async def test_a_results_view_reads_the_unit_and_its_children_only(
        redis: Redis, clock: Clock) -> None:
    """Three đảng bộ of 15 chi bộ each (48 rows: the chat shows one level): the chat's
    results read the Khối's row and the three đảng bộ's rows, no chi bộ's, and never the
    tally of every recording unit; the export reads the second level too."""
    units = [Unit(id="khoi", name="Đảng bộ Khối")]
    units += [Unit(id=f"d{d}", name=f"Đảng bộ {d}", parent="khoi") for d in range(3)]
    units += [Unit(id=f"c{d}{c:02d}", name=f"Chi bộ {d}.{c:02d}", parent=f"d{d}")
              for d in range(3) for c in range(15)]
    homes = [f"c{d}{c:02d}" for d in range(3) for c in range(15) for _ in range(2)]
    store, closed, tree, now = await _everyone_answered(redis, clock, units, homes)
    await same_as_every_recording_unit(store, closed, tree)

    async def chat() -> None:
        render(await gather(store, closed, tree), now)

    commands = await watched(redis, chat)
    assert rows_touched(commands, closed.id) == {"khoi", "d0", "d1", "d2"}
    assert not [c for c in commands if ":tally" in c or ":pending:" in c]
    report = await gather(store, closed, tree)
    assert report.trimmed and len(report.rows) == 3

    async def export() -> None:
        to_csv(await gather(store, closed, tree, all_texts=True), [])

    assert rows_touched(await watched(redis, export), closed.id) == {u.id for u in units}


async def test_a_hidden_units_children_are_never_read(redis: Redis, clock: Clock) -> None:
    """A small breakdown shows two levels, but the children of a unit merged upward ("gộp
    vào cấp trên") are not even read, nor is its own row (its size is in its parent's
    children hash)."""
    store, survey, tree = await opened(redis, clock, ["cb-a1"] * 5 + ["cb-a2"] * 5
                                       + ["cb-b1"] * 6)
    for n in range(1, 11):  # nobody of Đảng bộ B answers
        await store.record(survey, str(n), answer(n))
    closed = await store.close(survey, clock() + timedelta(hours=1))

    async def chat() -> None:
        render(await gather(store, closed, tree), clock())

    assert rows_touched(await watched(redis, chat), closed.id) == {
        "khoi", "dbcs-a", "cb-a1", "cb-a2"}
    report = await gather(store, closed, tree)
    assert [(r.unit, r.shown) for r in report.rows] == [
        ("dbcs-a", True), ("cb-a1", True), ("cb-a2", True), ("dbcs-b", False)]
    await same_as_every_recording_unit(store, closed, tree)


async def test_the_chat_shows_a_page_of_units_and_reads_whole_rows_for_it_only(
        redis: Redis, clock: Clock) -> None:
    """45 units right under the survey's: suppression weighs all of them (their sizes are
    read, in one go from the Khối's children hash), the chat shows the first 40 and reads
    whole rows for those only; the chart's response rates and the exports still cover all
    45."""
    units = [Unit(id="khoi", name="Đảng bộ Khối")]
    units += [Unit(id=f"d{d:02d}", name=f"Đảng bộ {d:02d}", parent="khoi") for d in range(45)]
    homes = [f"d{d:02d}" for d in range(45) for _ in range(2)]
    store, closed, tree, now = await _everyone_answered(redis, clock, units, homes)
    await same_as_every_recording_unit(store, closed, tree)
    report = await gather(store, closed, tree)
    assert report.partial and len(report.rows) == 45
    assert len(chart_data(report)[-1].bars) == 45
    text = render(report, now)
    assert "Đảng bộ 39: 2/2" in text and "Đảng bộ 40" not in text
    assert "… và 5 đơn vị khác: xem đầy đủ trong tệp xuất CSV/Excel" in text
    with pytest.raises(ValueError, match="every row"):
        to_csv(report, [])

    async def chat() -> None:
        render(await gather(store, closed, tree), now)

    commands = await watched(redis, chat)
    whole = {c.split()[1].rsplit(":", 1)[1] for c in commands if c.startswith("HGETALL")}
    assert whole == {"khoi", *(f"d{d:02d}" for d in range(40))}
    assert rows_touched(commands, closed.id) == {"khoi", *(f"d{d:02d}" for d in range(40))}
    kids = {c.split()[1] for c in commands if ":kids:" in c and c.startswith("HGET")}
    assert kids == {f"dv:{{sv:{closed.id}}}:kids:khoi"}  # or only its version, when kept
