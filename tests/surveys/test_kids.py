"""The children hash (`…:kids:<unit>`): every child's audience and answers in one read, so the
chat's results weigh all siblings without reading each sibling's row. Results read through it
are exactly those read row by row, as for a survey opened before the hashes existed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.asyncio import Redis

from bot.org.models import Unit
from bot.surveys.report import gather, render
from bot.surveys.store import SurveyStore
from tests.conftest import Clock
from tests.surveys.test_rollup import KEYS, SECRET, SPEC, answer, check_rolled_up, org


def wide(dbcs: int, deep_every: int) -> tuple[list[Unit], list[str]]:
    """A Khối over `dbcs` đảng bộ; every `deep_every`-th has two chi bộ, the others hold
    their members themselves: units of 3 (under k, counted under their parent), 5 or 6."""
    units = [Unit(id="khoi", name="Đảng bộ Khối")]
    homes: list[str] = []
    for d in range(dbcs):
        units.append(Unit(id=f"d{d:02d}", name=f"Đảng bộ {d:02d}", parent="khoi"))
        if d % deep_every == deep_every - 1:
            units += [Unit(id=f"c{d:02d}{c}", name=f"Chi bộ {d:02d}.{c}", parent=f"d{d:02d}")
                      for c in range(2)]
            homes += [f"c{d:02d}0"] * 6 + [f"c{d:02d}1"] * 3
        else:
            homes += [f"d{d:02d}"] * (5 if d % 3 else 6)
    return units, homes


@pytest.mark.parametrize(("dbcs", "deep_every"), [(4, 2), (45, 5), (45, 50)])
async def test_chat_results_from_the_children_hash_equal_those_read_row_by_row(
        redis: Redis, clock: Clock, dbcs: int, deep_every: int) -> None:
    units, homes = wide(dbcs, deep_every)
    tree = await org(redis, units, homes)
    store = SurveyStore(redis, KEYS, SECRET, 5)
    now = clock()
    survey = await store.open(SPEC, unit="khoi", author_name="X", tree=tree, now=now,
                              closes_at=now + timedelta(days=1))
    for n in range(1, len(homes) + 1):  # four of five answer: some units stay under k
        if n % 5:
            await store.record(survey, str(n), answer(n))
    closed = await store.close(survey, now + timedelta(hours=1))
    await check_rolled_up(redis, store, closed, tree)
    fast = await gather(store, closed, tree)
    kids = [key async for key in redis.scan_iter(match=f"dv:{{sv:{closed.id}}}:kids:*")]
    assert KEYS.survey_kids(closed.id, "khoi") in kids
    await redis.delete(*kids)  # now read as a survey opened before the hashes existed
    slow = await gather(store, closed, tree)
    assert (fast.cells, fast.rows, fast.trimmed, fast.partial) == (
        slow.cells, slow.rows, slow.trimmed, slow.partial)
    assert render(fast, now) == render(slow, now)
    assert any(not row.shown for row in fast.rows)  # suppression really weighed siblings
    assert fast.trimmed == (dbcs > 40 and deep_every <= dbcs)


async def test_a_process_that_kept_the_children_hash_sees_answers_counted_by_another(
        redis: Redis, clock: Clock) -> None:
    """Process A weighs the children once and keeps it; answers counted by process B move
    the hash's version, so A's next view weighs again and shows what B's fresh view shows."""
    units, homes = wide(45, 50)
    tree = await org(redis, units, homes)
    viewer, recorder = SurveyStore(redis, KEYS, SECRET, 5), SurveyStore(redis, KEYS, SECRET, 5)
    now = clock()
    survey = await recorder.open(SPEC, unit="khoi", author_name="X", tree=tree, now=now,
                                 closes_at=now + timedelta(days=1))
    late = [n for n, home in enumerate(homes, start=1) if home == "d00"]
    for n in range(1, len(homes) + 1):
        if n not in late[1:]:
            await recorder.record(survey, str(n), answer(n))
    before = await gather(viewer, survey, tree)
    assert [r.shown for r in before.rows if r.unit == "d00"] == [False]
    assert await gather(viewer, survey, tree) == before  # kept: the same weighing
    for n in late[1:]:  # d00 reaches k: its answers are counted, the hash's version moves
        await recorder.record(survey, str(n), answer(n))
    after = await gather(viewer, survey, tree)
    fresh = await gather(SurveyStore(redis, KEYS, SECRET, 5), survey, tree)
    assert (after.cells, after.rows) == (fresh.cells, fresh.rows)
    assert [r.shown for r in after.rows if r.unit == "d00"] == [True]
