"""A survey over the Zalo Bot Platform, end to end through the stand-in over real HTTP: the
notice arrives through the delivery outbox, and a member answers every question by typing
numbers (and the free text), with "Câu trước" and the confirmation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.surveys.lifecycle import SurveyTimes
from bot.surveys.models import Kind, Question, Spec
from tests.channels.zalo_live import ZALO_TOKEN, Running, number_of, say_as, start_polling
from tests.standin.zalo_bot import ZaloBotStandin

USER = "zu-2002"
SPEC = Spec(title="Ý kiến về sinh hoạt chi bộ", questions=[
    Question(text="Đồng chí tham gia sinh hoạt thế nào?", kind=Kind.SINGLE,
             options=["Đầy đủ", "Thỉnh thoảng vắng"]),
    Question(text="Nội dung cần cải tiến?", kind=Kind.MULTI,
             options=["Thời gian", "Nội dung", "Hình thức"], max_choices=2),
    Question(text="Chấm điểm chất lượng sinh hoạt", kind=Kind.SCALE),
    Question(text="Kiến nghị khác", kind=Kind.TEXT)])


@pytest.fixture
async def standin() -> AsyncIterator[ZaloBotStandin]:
    """The Bot Platform stand-in."""
    async with ZaloBotStandin(ZALO_TOKEN) as server:
        yield server


@pytest.fixture
async def polling(standin: ZaloBotStandin, redis: Redis, valkey_url: str,
                  tmp_path: Path) -> AsyncIterator[Running]:
    """run_bot with only the Zalo bot, long polling."""
    bot = await start_polling(standin, redis, valkey_url, tmp_path / "data")
    yield bot
    await bot.stop()


async def say(standin: ZaloBotStandin, text: str) -> str:
    """Type `text`; the bot's answer."""
    return await say_as(standin, USER, text)


async def test_member_answers_a_survey_by_typed_numbers(standin: ZaloBotStandin,
                                                        polling: Running) -> None:
    deps = polling.deps
    invite = await polling.invite("cb-a1")
    await say(standin, f"/start {invite.code}")
    assert "Chào mừng" in await say(standin, "Lê Văn Zalo")
    member = await deps.members.by_account("zalo", USER)
    assert member is not None

    now = datetime.now(UTC)
    tree = await deps.units.tree()
    survey = await deps.surveys.open(SPEC, unit="cb-a1", author_name="Cán bộ", tree=tree,
                                     now=now, closes_at=now + timedelta(days=1))
    notified = await SurveyTimes(deps).announce(survey, tree)
    assert (len(notified.reached), notified.skipped) == (1, 0)
    notice = "\n".join(m.text for m in await standin.wait_sent(USER))
    assert "Khảo sát mới" in notice and "Ý kiến về sinh hoạt chi bộ" in notice

    listing = await say(standin, "/khaosat")
    question = await say(standin, number_of(listing, "Ý kiến về sinh hoạt"))
    assert "Câu 1/4" in question and "<b>" not in question
    question = await say(standin, number_of(question, "Thỉnh thoảng vắng"))
    assert "Câu 2/4" in question
    question = await say(standin, number_of(question, "Câu trước"))  # back one question
    assert "Câu 1/4" in question
    question = await say(standin, number_of(question, "Đầy đủ"))
    question = await say(standin, number_of(question, "☐ Thời gian"))
    question = await say(standin, number_of(question, "☐ Hình thức"))
    question = await say(standin, number_of(question, "Xong"))
    assert "Câu 3/4" in question
    question = await say(standin, "9")                 # no such option: asked again
    assert "Câu 3/4" in question or "số" in question
    question = await say(standin, number_of(question, "4"))
    assert "Câu 4/4" in question
    confirm = await say(standin, "Nên sinh hoạt chuyên đề thường xuyên hơn")
    assert "Xác nhận câu trả lời" in confirm and "chuyên đề" in confirm
    done = await say(standin, number_of(confirm, "Gửi câu trả lời"))
    assert "Đã ghi nhận câu trả lời" in done

    again = await say(standin, "/khaosat")
    assert "✓ Ý kiến về sinh hoạt chi bộ — đã trả lời" in again
    assert "n|cb-a1" not in await deps.surveys.tally(survey.id)  # waits sealed: 1 < k
    await deps.surveys.retire(survey)  # what closing does: counts what waits
    tally = await deps.surveys.tally(survey.id)
    assert tally["n|cb-a1"] == 1
    assert tally["cb-a1|0|0"] == 1 and "cb-a1|0|1" not in tally
    assert tally["cb-a1|1|0"] == 1 and tally["cb-a1|1|2"] == 1 and tally["cb-a1|2|3"] == 1
    texts = await deps.surveys.texts(survey.id, 3)
    assert [t.text for t in texts] == ["Nên sinh hoạt chuyên đề thường xuyên hơn"]
