"""A typed reply means what the member sees, on the console (no buttons): digits are text where
a step asks for text, a number picks from the last numbered message, notices either take over
the numbers or answer to their own words. Each test pins one case seen by a tester."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

from bot.broadcasts.service import Broadcast
from bot.channels.console import ConsoleSender, render
from bot.delivery.queue import DeliveryQueue
from bot.delivery.worker import Worker
from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Member, Role
from bot.surveys.models import Kind, Question, Spec
from handlers import build_router
from tests.conftest import make_member
from tests.handlers.chat import Chat
from tests.handlers.test_proposals import content_named

TEXT_SURVEY = Spec(title="Kế hoạch sinh hoạt chuyên đề", questions=[
    Question(text="Mỗi năm nên có bao nhiêu buổi sinh hoạt chuyên đề?", kind=Kind.TEXT),
    Question(text="Đồng chí đề nghị bắt đầu từ quý mấy?", kind=Kind.TEXT)])
CHOICE_SURVEY = Spec(title="Ý kiến về sinh hoạt chi bộ", questions=[
    Question(text="Đồng chí tham gia sinh hoạt thế nào?", kind=Kind.SINGLE,
             options=["Đầy đủ", "Thỉnh thoảng vắng"]),
    Question(text="Thời gian sinh hoạt có phù hợp?", kind=Kind.SINGLE,
             options=["Phù hợp", "Chưa phù hợp"])])


async def console_member(deps: Deps, user_id: str = "m", unit: str = "cb-a1",
                         grants: tuple[tuple[Role, str], ...] = ()) -> tuple[Chat, Member]:
    member = await make_member(deps, channel="console", user_id=user_id, unit=unit,
                               grants=grants)
    return Chat(Dispatcher(build_router(), deps), user_id, channel="console",
                buttons=False), member


def screen(chat: Chat) -> str:
    """What the console prints for the latest replies."""
    return render(chat.replies)


async def open_survey(deps: Deps, spec: Spec) -> None:
    now = deps.clock()
    await deps.surveys.open(spec, unit="cb-a1", author_name="Cán bộ", tree=await deps.units.tree(),
                            now=now, closes_at=now + timedelta(days=3))


async def announce(deps: Deps, author: Member, text: str) -> str:
    """Store an announcement with «Đã nhận» and expand it into deliveries; its job id."""
    now = deps.clock()
    b = await deps.broadcasts.create(Broadcast(author=author.id, author_name=author.name,
                                               unit="cb-a1", text=text, ack=True, at=now,
                                               created_at=now))
    await deps.broadcasts.fire(b.job_id)
    return b.id


async def deliver_to_console(deps: Deps) -> str:
    """Run the console's delivery worker until the queue is empty; what it printed."""
    out = io.StringIO()
    sender = ConsoleSender(out, conversations=deps.conversations)
    worker = Worker(DeliveryQueue(deps.redis, deps.keys, "console", "t", poll=0.01), sender,
                    None, poll=0.01)
    stop = asyncio.Event()
    for _ in range(100):
        if not await worker.step(stop):
            break
    return out.getvalue()


async def test_digits_answer_a_free_text_question(deps: Deps) -> None:
    chat, _ = await console_member(deps)
    await open_survey(deps, TEXT_SURVEY)
    await chat.say("/khaosat")
    await chat.choose("Kế hoạch sinh hoạt")
    assert "Câu 1/2" in chat.text
    assert "#1 Hủy" in screen(chat) and "1. Hủy" not in screen(chat)  # said on screen
    await chat.say("4")  # was: "Xin đồng chí trả lời bằng một số từ 1 đến 1."
    assert "Câu 2/2" in chat.text
    await chat.say("1")  # was: "Đã hủy thao tác đang làm." (the answers were lost)
    assert "Đã hủy" not in chat.text
    assert "1. 4" in chat.text and "2. 1" in chat.text  # the confirmation lists both answers
    await chat.choose("Gửi câu trả lời")
    assert "Đã ghi nhận câu trả lời" in chat.text


async def test_search_for_a_number(deps: Deps) -> None:
    chat, _ = await console_member(deps)
    await chat.say("/timkiem")
    await chat.say("25")  # was: "Xin đồng chí trả lời bằng một số từ 1 đến 1."
    assert "«25»" in chat.text


async def test_reviewer_skips_the_note_by_its_words(deps: Deps) -> None:
    author = await make_member(deps, user_id="author", unit="cb-a1")
    await deps.proposals.submit(author, content_named("Tổ tự quản đường làng"),
                                await deps.units.tree(), deps.clock())
    reviewer, _ = await console_member(deps, "rv", "dbcs-a", ((Role.REVIEWER, "dbcs-a"),))
    await reviewer.say("/thamdinh")
    await reviewer.choose("Đề xuất tiếp theo")
    await reviewer.choose("Thẩm định đạt")
    await reviewer.say("Mô hình thiết thực, đề nghị cấp trên công nhận.")
    assert "#1 Bỏ qua" in screen(reviewer) and "«bỏ qua»" in screen(reviewer)
    await reviewer.say("bỏ qua")  # was: stored as the private note "bỏ qua"
    assert "Ghi chú nội bộ: không có" in reviewer.text
    await reviewer.choose("Xác nhận")
    assert "Đã ghi nhận" in reviewer.text
    history = await deps.proposals.store.history("DVK-2026-00001")
    assert not any("bỏ qua" in event.model_dump_json() for event in history)


async def test_a_notice_on_a_reviewers_screen_takes_over_the_numbers(deps: Deps) -> None:
    author = await make_member(deps, user_id="author", unit="cb-a1")
    await deps.proposals.submit(author, content_named("Tổ tự quản đường làng"),
                                await deps.units.tree(), deps.clock())
    cadre = await make_member(deps, user_id="cadre", unit="cb-a1", grants=((Role.CADRE, "cb-a1"),))
    reviewer, _ = await console_member(deps, "rv", "cb-a1", ((Role.REVIEWER, "dbcs-a"),))
    await reviewer.say("/thamdinh")
    await reviewer.choose("Đề xuất tiếp theo")
    assert "1. Thẩm định đạt" in screen(reviewer)
    number = await announce(deps, cadre, "Họp chi bộ thường kỳ lúc 14 giờ.")
    printed = await deliver_to_console(deps)
    assert "Họp chi bộ thường kỳ" in printed and "1. ✓ Đã nhận" in printed
    await reviewer.say("1")  # was: "Thẩm định đạt" on the card from before the notice
    assert f"đã nhận thông báo #{number}" in reviewer.text
    assert "Thẩm định đạt" not in reviewer.text


async def test_da_nhan_can_be_typed_after_a_later_screen(deps: Deps) -> None:
    cadre = await make_member(deps, user_id="cadre", unit="cb-a1", grants=((Role.CADRE, "cb-a1"),))
    chat, member = await console_member(deps)
    number = await announce(deps, cadre, "Nộp đảng phí quý IV trước ngày 30.")
    await deliver_to_console(deps)
    await chat.say("/menu")  # a later screen takes the numbers
    assert "1. ✓ Đã nhận" not in screen(chat)
    await chat.say("Đã nhận")  # was: "Bot chưa hiểu ý đồng chí"
    assert f"đã nhận thông báo #{number}" in chat.text
    assert await deps.broadcasts.confirm(number, member.id) == 0  # counted once already


async def test_a_notice_between_two_steps_leaves_the_dialog_numbers(deps: Deps) -> None:
    cadre = await make_member(deps, user_id="cadre", unit="cb-a1", grants=((Role.CADRE, "cb-a1"),))
    chat, _ = await console_member(deps)
    await open_survey(deps, CHOICE_SURVEY)
    await chat.say("/khaosat")
    await chat.choose("Ý kiến về sinh hoạt")
    await chat.say("1")  # Đầy đủ
    assert "Câu 2/2" in chat.text
    number = await announce(deps, cadre, "Họp chi bộ thường kỳ lúc 14 giờ.")
    printed = await deliver_to_console(deps)
    # Mid-dialog the notice offers its button by its words, never as a number.
    assert "«đã nhận»" in printed and "1. ✓ Đã nhận" not in printed
    await chat.say("2")  # still the question on screen: "Chưa phù hợp"
    assert "Xác nhận câu trả lời" in chat.text and "Chưa phù hợp" in chat.text
    await chat.say("đã nhận")
    assert f"đã nhận thông báo #{number}" in chat.text
    await chat.say("1")  # the survey's confirmation still owns the numbers: «Gửi câu trả lời»
    assert "Đã ghi nhận câu trả lời" in chat.text


async def test_a_number_on_a_screen_without_options(deps: Deps) -> None:
    chat, _ = await console_member(deps)
    await chat.say("/menu")
    menu = [b.label for r in chat.replies for row in r.buttons for b in row]
    await chat.say("/tracuu")  # an answer with no buttons
    await chat.say("3")  # was: the menu again, from the screen before
    assert "không có lựa chọn đánh số" in chat.text
    assert not any(label in chat.text for label in menu)


async def test_an_out_of_range_prefix_on_a_text_step_asks_again(deps: Deps) -> None:
    chat, _ = await console_member(deps)
    await chat.say("/timkiem")
    await chat.say("#7")
    assert "gõ #1 để chọn" in chat.text and "#1 Hủy" in screen(chat)
    await chat.say("#1")
    assert "Đã hủy" in chat.text
