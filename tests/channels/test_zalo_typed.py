"""A typed reply means what the member sees, on the Zalo Bot Platform (members can only type):
`run_bot` polls the stand-in over real HTTP, notices come through the real outbox and Zalo
sender. One test per case a tester saw, plus numbers with no options, options from an older
screen and a notice arriving between two steps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.broadcasts.service import Broadcast
from bot.deps import Deps
from bot.org.models import Member, Role
from bot.surveys.models import Spec
from tests.channels.zalo_live import Running, number_of, say_as, start_polling
from tests.conftest import make_member
from tests.engine.test_typed import CHOICE_SURVEY, TEXT_SURVEY
from tests.handlers.test_proposals import content_named
from tests.standin.zalo_bot import ZaloBotStandin

USER = "zu-3001"


@pytest.fixture
async def standin() -> AsyncIterator[ZaloBotStandin]:
    """The Bot Platform stand-in."""
    async with ZaloBotStandin("7771234:ZaloS3cretTokenForTests") as server:
        yield server


@pytest.fixture
async def polling(standin: ZaloBotStandin, redis: Redis, valkey_url: str,
                  tmp_path: Path) -> AsyncIterator[Running]:
    """run_bot with only the Zalo bot, long polling."""
    bot = await start_polling(standin, redis, valkey_url, tmp_path / "data")
    yield bot
    await bot.stop()


async def zalo_member(deps: Deps, user: str = USER, unit: str = "cb-a1",
                      grants: tuple[tuple[Role, str], ...] = ()) -> Member:
    return await make_member(deps, channel="zalo", user_id=user, unit=unit, grants=grants)


async def open_survey(deps: Deps, spec: Spec) -> None:
    now = datetime.now(UTC)  # run_bot keeps real time
    await deps.surveys.open(spec, unit="cb-a1", author_name="Cán bộ", tree=await deps.units.tree(),
                            now=now, closes_at=now + timedelta(days=3))


async def announce(deps: Deps, standin: ZaloBotStandin, text: str, to: str = USER, *,
                   ack: bool = True) -> str:
    """A cadre's announcement (with «Đã nhận» when `ack`), delivered by run_bot's outbox; what
    `to` got."""
    cadre = await make_member(deps, user_id="cadre", unit="cb-a1",
                              grants=((Role.CADRE, "cb-a1"),))
    now = datetime.now(UTC)
    b = await deps.broadcasts.create(Broadcast(author=cadre.id, author_name=cadre.name,
                                               unit="cb-a1", text=text, ack=ack, at=now,
                                               created_at=now))
    await deps.broadcasts.fire(b.job_id)
    return "\n".join(m.text for m in await standin.wait_sent(to, timeout=10))


async def test_digits_answer_a_free_text_question(standin: ZaloBotStandin,
                                                  polling: Running) -> None:
    await zalo_member(polling.deps)
    await open_survey(polling.deps, TEXT_SURVEY)
    listing = await say_as(standin, USER, "/khaosat")
    question = await say_as(standin, USER, number_of(listing, "Kế hoạch sinh hoạt"))
    assert "Câu 1/2" in question and "#1 Hủy" in question and "1. Hủy" not in question
    assert "Câu 2/2" in await say_as(standin, USER, "4")
    confirm = await say_as(standin, USER, "1")
    assert "Đã hủy" not in confirm and "1. 4" in confirm and "2. 1" in confirm
    assert "Đã ghi nhận câu trả lời" in await say_as(
        standin, USER, number_of(confirm, "Gửi câu trả lời"))


async def test_search_for_a_number(standin: ZaloBotStandin, polling: Running) -> None:
    await zalo_member(polling.deps)
    await say_as(standin, USER, "/timkiem")
    assert "«25»" in await say_as(standin, USER, "25")


async def test_reviewer_skips_the_note_by_its_words(standin: ZaloBotStandin,
                                                    polling: Running) -> None:
    deps = polling.deps
    author = await make_member(deps, user_id="author", unit="cb-a1")
    await deps.proposals.submit(author, content_named("Tổ tự quản đường làng"),
                                await deps.units.tree(), datetime.now(UTC))
    await zalo_member(deps, unit="dbcs-a", grants=((Role.REVIEWER, "dbcs-a"),))
    overview = await say_as(standin, USER, "/thamdinh")
    card = await say_as(standin, USER, number_of(overview, "Đề xuất tiếp theo"))
    asked = await say_as(standin, USER, number_of(card, "Thẩm định đạt"))
    assert "ý kiến trả lời" in asked
    note = await say_as(standin, USER, "Mô hình thiết thực, đề nghị cấp trên công nhận.")
    assert "#1 Bỏ qua" in note and "«bỏ qua»" in note
    summary = await say_as(standin, USER, "bỏ qua")
    assert "Ghi chú nội bộ: không có" in summary
    done = await say_as(standin, USER, number_of(summary, "Xác nhận"))
    assert "Đã ghi nhận" in done


async def test_a_notice_takes_over_the_numbers_of_an_older_screen(
        standin: ZaloBotStandin, polling: Running) -> None:
    await zalo_member(polling.deps)
    menu = await say_as(standin, USER, "/menu")
    assert "1. " in menu
    notice = await announce(polling.deps, standin, "Họp chi bộ thường kỳ lúc 14 giờ.")
    assert "1. ✓ Đã nhận" in notice
    assert "đã nhận thông báo" in await say_as(standin, USER, "1")


async def test_a_notice_without_buttons_leaves_no_number_to_an_older_screen(
        standin: ZaloBotStandin, polling: Running) -> None:
    await zalo_member(polling.deps)
    menu = await say_as(standin, USER, "/menu")
    first = menu.split("\n1. ")[1].split("\n")[0]
    notice = await announce(polling.deps, standin, "Lịch trực cơ quan tuần này.", ack=False)
    assert "Lịch trực" in notice and "1. " not in notice
    answer = await say_as(standin, USER, "1")  # was: the menu's first item, from before
    assert "không có lựa chọn đánh số" in answer and first not in answer


async def test_da_nhan_can_be_typed_after_a_later_screen(standin: ZaloBotStandin,
                                                         polling: Running) -> None:
    await zalo_member(polling.deps)
    await announce(polling.deps, standin, "Nộp đảng phí quý IV trước ngày 30.")
    await say_as(standin, USER, "/menu")
    assert "đã nhận thông báo" in await say_as(standin, USER, "Đã nhận")


async def test_a_notice_between_two_steps_leaves_the_dialog_numbers(
        standin: ZaloBotStandin, polling: Running) -> None:
    await zalo_member(polling.deps)
    await open_survey(polling.deps, CHOICE_SURVEY)
    listing = await say_as(standin, USER, "/khaosat")
    question = await say_as(standin, USER, number_of(listing, "Ý kiến về sinh hoạt"))
    question = await say_as(standin, USER, number_of(question, "Đầy đủ"))
    assert "Câu 2/2" in question
    notice = await announce(polling.deps, standin, "Họp chi bộ thường kỳ lúc 14 giờ.")
    assert "«đã nhận»" in notice and "1. ✓ Đã nhận" not in notice
    confirm = await say_as(standin, USER, number_of(question, "Chưa phù hợp"))
    assert "Xác nhận câu trả lời" in confirm and "Chưa phù hợp" in confirm
    assert "đã nhận thông báo" in await say_as(standin, USER, "đã nhận")
    assert "Đã ghi nhận câu trả lời" in await say_as(
        standin, USER, number_of(confirm, "Gửi câu trả lời"))


async def test_a_number_on_a_screen_without_options(standin: ZaloBotStandin,
                                                    polling: Running) -> None:
    await zalo_member(polling.deps)
    await say_as(standin, USER, "/menu")
    await say_as(standin, USER, "/tracuu")  # an answer without options
    answer = await say_as(standin, USER, "3")
    assert "không có lựa chọn đánh số" in answer and "Menu chính" not in answer
