"""Smaller things a tester saw while trying every flow; one regression test each."""

from __future__ import annotations

from datetime import timedelta

from bot.broadcasts.service import Broadcast
from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Role
from bot.surveys.models import Kind, Question, Spec
from handlers import build_router
from tests.conftest import make_member
from tests.handlers.chat import Chat
from tests.handlers.test_proposals import content_named, fill, photo, png


def chat_of(deps: Deps, user_id: str, *, console: bool = False) -> Chat:
    return Chat(Dispatcher(build_router(), deps), user_id,
                channel="console" if console else "telegram", buttons=not console)


async def test_tracuu_takes_the_code_as_people_type_it(deps: Deps) -> None:
    author = await make_member(deps, user_id="a", unit="cb-a1")
    await deps.proposals.submit(author, content_named("Tổ tự quản đường làng"),
                                await deps.units.tree(), deps.clock())
    await make_member(deps, user_id="rv", unit="dbcs-a", grants=((Role.REVIEWER, "dbcs-a"),))
    reviewer = chat_of(deps, "rv")
    for typed in ("dvk-2026-1", "DVK 2026 00001", "dvk-2026-00001"):
        await reviewer.say(f"/tracuu {typed}")  # was: "Không tìm thấy đề xuất này."
        assert "DVK-2026-00001" in reviewer.text and "Tổ tự quản đường làng" in reviewer.text


async def test_confirm_pressed_twice_says_it_was_handled(deps: Deps) -> None:
    author = await make_member(deps, user_id="a", unit="cb-a1")
    await deps.proposals.submit(author, content_named("Tổ tự quản đường làng"),
                                await deps.units.tree(), deps.clock())
    await make_member(deps, user_id="rv", unit="dbcs-a", grants=((Role.REVIEWER, "dbcs-a"),))
    reviewer = chat_of(deps, "rv")
    await reviewer.press_raw("rv.next")
    await reviewer.press("Thẩm định đạt")
    await reviewer.say("Mô hình thiết thực, đề nghị cấp trên công nhận.")
    await reviewer.press("Bỏ qua")
    confirm = reviewer.button("Xác nhận")
    await reviewer.press_raw(confirm.action)
    assert "Đã ghi nhận" in reviewer.text
    await reviewer.press_raw(confirm.action)  # was: "không thuộc phạm vi thẩm định"
    assert "đã được xử lý" in reviewer.text and "phạm vi" not in reviewer.text


async def test_send_tapped_twice_answers_with_the_same_code(deps: Deps) -> None:
    await make_member(deps, user_id="m", unit="cb-a1")
    author = chat_of(deps, "m")
    await fill(author)
    await author.send(photo(author, png()))
    await author.press("Xong, xem lại")
    send = author.button("Gửi đề xuất")
    await author.press_raw(send.action)
    assert "Đã gửi đề xuất DVK-2026-00001" in author.text
    await author.press_raw(send.action)  # was: "Không có đề xuất nào đang soạn"
    assert "đã được gửi với mã <b>DVK-2026-00001</b>" in author.replies[-1].text
    assert await deps.proposals.store.get("DVK-2026-00002") is None


async def test_a_hurried_name_is_shown_back_and_can_be_changed_later(deps: Deps) -> None:
    invite = await deps.invites.create(unit="cb-a1", role=Role.MEMBER, created_by="t",
                                       max_uses=1, days=1, now=deps.clock())
    chat = chat_of(deps, "new")
    await chat.say(f"/start {invite.code}")
    await chat.say("nguyen van binh")  # was: registered as typed, no way to change it
    assert "Họ và tên sẽ ghi là: <b>nguyen van binh</b>" in chat.replies[-1].text
    assert "chưa viết hoa hoặc chưa có dấu" in chat.text
    assert await deps.members.by_account("telegram", "new") is None  # nothing stored yet
    await chat.press("Sửa lại")
    await chat.say("Nguyễn Văn Bình")  # a well-written name goes straight in
    assert "Chào mừng đồng chí <b>Nguyễn Văn Bình</b>" in chat.replies[-1].text
    await chat.say("/me")
    await chat.press("Đổi họ và tên")
    await chat.say("Nguyễn Văn Bính")
    await chat.press("✓ Đúng")
    assert "Đã đổi họ và tên" in chat.text and "Họ và tên: Nguyễn Văn Bính" in chat.text
    member = await deps.members.by_account("telegram", "new")
    assert member is not None and member.name == "Nguyễn Văn Bính"


async def test_going_back_keeps_the_ticked_choices(deps: Deps) -> None:
    await make_member(deps, channel="console", user_id="m", unit="cb-a1")
    now = deps.clock()
    spec = Spec(title="Nội dung cần cải tiến", questions=[
        Question(text="Chọn nội dung", kind=Kind.MULTI, options=["Thời gian", "Nội dung",
                                                                  "Hình thức"], max_choices=2),
        Question(text="Chấm điểm", kind=Kind.SCALE)])
    await deps.surveys.open(spec, unit="cb-a1", author_name="Cán bộ",
                            tree=await deps.units.tree(), now=now, closes_at=now + timedelta(1))
    chat = chat_of(deps, "m", console=True)
    await chat.say("/khaosat")
    await chat.choose("Nội dung cần cải tiến")
    await chat.choose("☐ Thời gian")
    await chat.choose("☐ Hình thức")
    await chat.choose("Xong")
    assert "Câu 2/2" in chat.text
    await chat.choose("Câu trước")  # was: every box unticked again
    assert "☑ Thời gian" in chat.labels() and "☑ Hình thức" in chat.labels()


async def test_the_author_is_not_in_the_audience_of_what_they_send(deps: Deps) -> None:
    cadre = await make_member(deps, user_id="c", unit="cb-a1", grants=((Role.CADRE, "cb-a1"),))
    member = await make_member(deps, user_id="m", unit="cb-a1")
    tree = await deps.units.tree()
    now = deps.clock()
    recipients = await deps.broadcasts.audience(tree, "cb-a1", [], cadre.id)
    assert [r.member_id for r in recipients] == [member.id]
    b = await deps.broadcasts.create(Broadcast(author=cadre.id, author_name=cadre.name,
                                               unit="cb-a1", text="Họp", at=now, created_at=now))
    await deps.broadcasts.fire(b.job_id)
    assert (await deps.outbox.stats(b.job_id)).overall.total == 1
    survey = await deps.surveys.open(Spec(title="Ý kiến", questions=[
        Question(text="Đồng ý?", kind=Kind.SINGLE, options=["Có", "Không"])]), unit="cb-a1",
        author_name=cadre.name, tree=tree, now=now, closes_at=now + timedelta(1),
        author=cadre.id)
    assert survey.audience == 1


def test_no_quiz_explanation_gives_away_a_later_answer() -> None:
    from pathlib import Path

    from bot.library.loader import load_library
    loaded = load_library(Path(__file__).parents[2] / "content")
    leaks = []
    for item in loaded.docs:
        quiz = getattr(item.doc, "quiz", None) or []
        for i, asked in enumerate(quiz):
            for later in quiz[i + 1:]:
                for n in later.correct:
                    answer = later.options[n - 1]
                    if len(answer) >= 4 and answer.casefold() in asked.explanation.casefold():
                        leaks.append(f"{item.origin}: câu {i + 1} lộ «{answer}»")
    assert leaks == []  # was: dan-van-kheo's first explanation named the fifth answer


async def _settings_screen(deps: Deps, unit: str) -> Chat:
    """A cadre of dbcs-a at the survey settings screen for `unit` (console, numbers)."""
    await make_member(deps, channel="console", user_id="c", unit="dbcs-a",
                      grants=((Role.CADRE, "dbcs-a"),))
    chat = chat_of(deps, "c", console=True)
    await chat.say("/menu")
    await chat.choose("Tạo khảo sát")
    await chat.choose("tâm tư")
    if unit != "dbcs-a":
        await chat.choose("Chi bộ A1")
    await chat.choose("✓ Chọn")
    assert "Xem trước khảo sát" in chat.text
    return chat


async def test_toggling_settings_never_moves_option_numbers(deps: Deps) -> None:
    chat = await _settings_screen(deps, "dbcs-a")
    before = chat.labels()
    await chat.choose("Ẩn danh: Có")  # was: a row appeared, every later number moved
    after = chat.labels()
    assert len(after) == len(before)
    assert [label.split(":")[0] for label in after] == [label.split(":")[0] for label in before]


async def test_a_closing_time_replaces_the_stale_duration(deps: Deps) -> None:
    chat = await _settings_screen(deps, "dbcs-a")
    await chat.choose("Nhập giờ đóng")
    await chat.say("26/11/2026 23:45")
    assert "Hạn trả lời: 26/11/2026 23:45" in chat.text
    assert not any(label.startswith("Thời hạn: 7 ngày") for label in chat.labels())
    assert "Thời hạn: đến 26/11/2026 23:45 (đổi thành số ngày)" in chat.labels()


async def test_an_anonymous_survey_to_a_small_unit_is_warned(deps: Deps) -> None:
    for i in range(3):
        await make_member(deps, user_id=f"m{i}", unit="cb-a1")
    chat = await _settings_screen(deps, "cb-a1")
    assert "chỉ có 3 đồng chí, ít hơn 5" in chat.text and "không bao giờ hiển thị" in chat.text
    await chat.choose("Ẩn danh: Có")  # named: results can be shown, no warning
    assert "không bao giờ hiển thị" not in chat.text


async def test_a_scheduled_survey_is_not_called_closed(deps: Deps) -> None:
    chat = await _settings_screen(deps, "dbcs-a")
    await chat.choose("đổi giờ mở")
    await chat.say("22/11/2026 09:00")
    await chat.choose("Mở khảo sát")
    assert "Đã hẹn mở khảo sát" in chat.text
    await chat.choose("Xem kết quả")  # was: "đã đóng lúc <a future time>", "Đã trả lời: 0/0"
    assert "Hẹn mở lúc 22/11/2026 09:00" in chat.text
    assert "đã đóng" not in chat.text and "0/0" not in chat.text
