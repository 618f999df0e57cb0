"""Opening and closing times: a survey scheduled to open later has no audience and no notice
until the scheduler opens it (snapshot then, once across processes); at the closing time the
anonymous marks are destroyed and the author is told the results are final."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.delivery.schedule import Scheduler, by_kind
from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Role
from bot.surveys.lifecycle import SurveyTimes
from bot.surveys.models import Kind, Question, Spec
from tests.conftest import Clock, make_member
from tests.delivery.conftest import deliver_job
from tests.handlers.chat import Chat


def _scheduler(deps: Deps, clock: Clock) -> Scheduler:
    return Scheduler(deps.redis, deps.keys, by_kind(SurveyTimes(deps).jobs()), clock)


async def test_scheduled_opening_snapshots_then_closing_retires_and_tells_the_author(
        deps: Deps, dispatcher: Dispatcher, clock: Clock) -> None:
    author = await make_member(deps, user_id="cadre", unit="cb-a1", grants=((Role.CADRE, "cb-a1"),))
    await make_member(deps, user_id="early", unit="cb-a1")
    cadre = Chat(dispatcher, "cadre")
    await cadre.say("/menu")
    await cadre.press("Tạo khảo sát")
    await cadre.press("tâm tư")
    await cadre.press("Chọn Chi bộ A1")
    assert "Mở: ngay khi bấm" in cadre.text
    await cadre.press("đổi giờ mở")
    await cadre.say("25:99")                           # clock: 15:00 in Vietnam
    assert "Chưa hiểu thời điểm" in cadre.text or "không hợp lệ" in cadre.text
    await cadre.say("14:00")
    assert "đã qua" in cadre.text
    await cadre.say("16:00")
    assert "Mở: 21/11/2026 16:00" in cadre.text
    await cadre.press("Nhập giờ đóng")
    await cadre.say("15:30")                           # before the opening
    await cadre.press("Mở khảo sát")
    assert "Giờ đóng phải sau giờ mở" in cadre.text
    await cadre.press("Nhập giờ đóng")
    await cadre.say("18:00 23/11")
    assert "Hạn trả lời: 23/11/2026 18:00" in cadre.text
    await cadre.press("Mở khảo sát")
    assert "Đã hẹn mở khảo sát" in cadre.text, cadre.text
    sid = cadre.button("Xem kết quả").action.split("|")[1]
    survey = await deps.surveys.get(sid)
    assert survey is not None and survey.pending and survey.audience == 0
    assert not await deps.redis.exists(deps.keys.survey_salt(sid))
    assert not await deps.redis.exists(deps.keys.job(f"sv-{sid}"))  # no notice yet

    member = Chat(dispatcher, "early")
    await member.press_raw(f"sv.go|{sid}")
    assert "chưa mở" in member.text
    await member.say("/khaosat")
    assert "Trả lời" not in " ".join(member.labels())

    await make_member(deps, user_id="late", unit="cb-a1")  # joins before the opening
    scheduler, other = _scheduler(deps, clock), _scheduler(deps, clock)
    assert await scheduler.tick() == []
    clock.advance(hours=1, seconds=1)
    fired = await asyncio.gather(scheduler.tick(), other.tick())
    assert sorted(fired[0] + fired[1]) == [f"svo-{sid}"]  # once across the two
    survey = await deps.surveys.get(sid)
    assert survey is not None and not survey.pending and survey.audience == 2  # not the author
    notified = {a for a, _t, _at in (await deliver_job(deps, f"sv-{sid}")).sent}
    assert notified == {"early", "late"}  # not the author
    await make_member(deps, user_id="after", unit="cb-a1")  # joins after: not in the snapshot
    after = Chat(dispatcher, "after")
    await after.press_raw(f"sv.go|{sid}")
    assert "không dành cho đơn vị" in after.text

    await member.press_raw(f"sv.go|{sid}")
    assert "Câu 1/5" in member.text

    clock.advance(days=2, hours=2)                    # past 18:00 23/11 (Vietnam)
    assert await scheduler.tick() == [f"svx-{sid}"]
    for gone in (deps.keys.survey_salt(sid), deps.keys.survey_audience(sid),
                 deps.keys.survey_done(sid), deps.keys.survey_author(sid)):
        assert not await deps.redis.exists(gone)
    told = set(await deps.redis.hkeys(deps.keys.job_recipients(f"svx-{sid}")))
    assert told == {author.id}
    await member.press_raw(f"sv.go|{sid}")
    assert "đã đóng" in member.text


async def test_immediate_opening_still_schedules_the_closing(
        deps: Deps, dispatcher: Dispatcher, clock: Clock) -> None:
    author = await make_member(deps, user_id="cadre", unit="cb-a1", grants=((Role.CADRE, "cb-a1"),))
    cadre = Chat(dispatcher, "cadre")
    await cadre.say("/menu")
    await cadre.press("Tạo khảo sát")
    await cadre.press("tâm tư")
    await cadre.press("Chọn Chi bộ A1")
    await cadre.press("Mở khảo sát")
    sid = cadre.button("Xem kết quả").action.split("|")[1]
    assert await deps.redis.exists(deps.keys.survey_salt(sid))
    assert await deps.redis.get(deps.keys.survey_author(sid)) == author.id
    clock.advance(days=7, seconds=1)                  # the template's 7 days
    assert await _scheduler(deps, clock).tick() == [f"svx-{sid}"]
    assert not await deps.redis.exists(deps.keys.survey_salt(sid))
    # Then the AOF is rewritten (the marks' history goes), and nothing else is due.
    assert [j.split("-")[0] for j in await _scheduler(deps, clock).tick()] == ["aof"]
    assert await _scheduler(deps, clock).tick() == []


async def test_a_scheduled_survey_closed_before_its_opening_never_opens(
        deps: Deps, clock: Clock) -> None:
    await make_member(deps, user_id="m", unit="cb-a1")
    spec = Spec(title="Hẹn giờ", questions=[Question(text="Câu hỏi?", kind=Kind.SCALE)])
    now = clock()
    survey = await deps.surveys.open(spec, unit="cb-a1", author_name="X",
                                     tree=await deps.units.tree(), now=now,
                                     opens_at=now + timedelta(hours=1),
                                     closes_at=now + timedelta(days=1))
    await SurveyTimes(deps).schedule(survey, "1", now)
    await deps.surveys.close(survey, now)
    clock.advance(hours=2)
    assert await _scheduler(deps, clock).tick() == [f"svo-{survey.id}"]
    stored = await deps.surveys.get(survey.id)
    assert stored is not None and stored.pending and not stored.is_open(clock())
    assert not await deps.redis.exists(deps.keys.job(f"sv-{survey.id}"))
