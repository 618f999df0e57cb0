"""The guided form: a cadre writes a survey step by step in the chat (buttons, and typed
numbers alone), refused values keep the draft, and the survey opens with the typed questions."""

from __future__ import annotations

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Role
from bot.surveys.models import Kind
from tests.conftest import make_member
from tests.handlers.chat import Chat


async def _cadre(deps: Deps, dispatcher: Dispatcher, *, channel: str = "telegram",
                 buttons: bool = True) -> Chat:
    await make_member(deps, channel=channel, user_id="cadre", unit="dbcs-a",
                      grants=((Role.CADRE, "dbcs-a"),))
    return Chat(dispatcher, "cadre", channel=channel, buttons=buttons)


async def test_form_by_buttons_with_refusals_that_keep_the_draft(
        deps: Deps, dispatcher: Dispatcher) -> None:
    cadre = await _cadre(deps, dispatcher)
    await make_member(deps, user_id="m", unit="cb-a1")
    await cadre.say("/menu")
    await cadre.press("Tạo khảo sát")
    await cadre.press("Soạn khảo sát mới")
    await cadre.say("ab")
    assert "từ 3 đến 150 ký tự" in cadre.text and "có 2 ký tự" in cadre.text
    await cadre.say("x" * 151)
    assert "từ 3 đến 150 ký tự" in cadre.text and "151 ký tự" in cadre.text
    await cadre.say("Ý kiến về sinh hoạt chi bộ")
    assert "Câu 1" in cadre.text and "chọn loại câu hỏi" in cadre.text
    await cadre.say("đại khái")                       # typed at a buttons-only step
    assert "chọn bằng các nút" in cadre.text
    await cadre.press_raw("svf.k|multi")               # the buttons above are still there
    await cadre.say("y" * 301)
    assert "từ 3 đến 300 ký tự" in cadre.text
    await cadre.say("Nội dung nào cần cải tiến?")
    await cadre.say("Chỉ một dòng")
    assert "ít nhất 2 phương án" in cadre.text
    await cadre.say("\n".join(f"Phương án {i}" for i in range(9)))
    assert "9 phương án; tối đa 8" in cadre.text
    await cadre.say("Thời gian\nNội dung\nthời gian")
    assert "trùng nhau" in cadre.text
    await cadre.say("- Thời gian\n- Nội dung\n- Hình thức")
    assert "tối đa bao nhiêu" in cadre.text and cadre.labels()[:3] == ["1", "2", "3"]
    await cadre.say("4")                               # max > options, typed
    assert "từ 1 đến 3" in cadre.text
    await cadre.press_raw("svf.m|9")                   # forged
    assert "từ 1 đến 3" in cadre.text
    await cadre.press("2")
    assert "Đã thêm câu 1/10" in cadre.text and "a) Thời gian" in cadre.text
    await cadre.press("Thêm câu hỏi")
    await cadre.press("Thang điểm")
    await cadre.say("Đồng chí đánh giá chất lượng sinh hoạt?")
    await cadre.press("Thêm câu hỏi")
    await cadre.press("Trả lời ngắn")
    await cadre.say("Kiến nghị khác")
    await cadre.press("Xong, xem lại")
    assert "Xem lại bản soạn" in cadre.text and "3. Kiến nghị khác" in cadre.text
    await cadre.press("Xóa câu cuối")
    assert "Kiến nghị khác" not in cadre.text and "2. Đồng chí đánh giá" in cadre.text
    await cadre.press("Đổi tiêu đề")
    await cadre.say("Ý kiến về sinh hoạt chi bộ quý IV")
    assert "Đã đổi tiêu đề" in cadre.text and "2. Đồng chí đánh giá" in cadre.text
    await cadre.press("Tiếp tục")
    await cadre.press("Chọn Đảng bộ cơ sở A")
    assert "Xem trước khảo sát" in cadre.text and "quý IV" in cadre.text
    await cadre.press("Mở khảo sát")
    assert "Đã mở khảo sát" in cadre.text
    sid = cadre.button("Xem kết quả").action.split("|")[1]
    survey = await deps.surveys.get(sid)
    assert survey is not None and survey.title == "Ý kiến về sinh hoạt chi bộ quý IV"
    assert [q.kind for q in survey.questions] == [Kind.MULTI, Kind.SCALE]
    assert survey.questions[0].options == ["Thời gian", "Nội dung", "Hình thức"]
    assert survey.questions[0].max_choices == 2

    member = Chat(dispatcher, "m")
    await member.press_raw(f"sv.go|{sid}")
    assert "Nội dung nào cần cải tiến?" in member.text and "tối đa 2" in member.text


async def test_form_by_typed_numbers_alone_and_the_draft_survives_a_restart(
        deps: Deps, dispatcher: Dispatcher) -> None:
    cadre = await _cadre(deps, dispatcher, channel="console", buttons=False)

    def number(label: str) -> str:
        return str(next(i for i, x in enumerate(cadre.labels()) if label in x) + 1)

    await cadre.say("/menu")
    await cadre.say(number("Tạo khảo sát"))
    await cadre.say(number("Soạn khảo sát mới"))
    await cadre.say("Khảo sát nhanh")
    await cadre.say(number("Chọn một"))
    await cadre.say("Đồng chí có tham gia đầy đủ?")
    await cadre.say("Có\nKhông")
    assert "Đã thêm câu 1/10" in cadre.text
    # A restart: a new dispatcher over the same Redis picks the draft up where it was.
    again = Chat(Dispatcher(dispatcher.router, deps), "cadre", channel="console",
                 buttons=False)
    await again.say("1")                               # ➕ Thêm câu hỏi
    cadre = again
    await cadre.say(number("Chọn nhiều"))
    await cadre.say("Lý do vắng?")
    await cadre.say("Công tác\nỐm\nViệc gia đình")
    await cadre.say("2")                               # "2" is the max button labelled 2
    assert "Đã thêm câu 2/10" in cadre.text and "chọn tối đa 2" in cadre.text
    await cadre.say(number("Xong, xem lại"))
    await cadre.say(number("Tiếp tục"))
    await cadre.say("1")                               # ✓ Chọn Đảng bộ cơ sở A
    await cadre.say(number("Mở khảo sát"))
    assert "Đã mở khảo sát" in cadre.text
    sid = cadre.button("Xem kết quả").action.split("|")[1]
    survey = await deps.surveys.get(sid)
    assert survey is not None and [q.text for q in survey.questions] == [
        "Đồng chí có tham gia đầy đủ?", "Lý do vắng?"]


async def test_template_as_a_starting_point_and_the_ten_question_limit(
        deps: Deps, dispatcher: Dispatcher) -> None:
    cadre = await _cadre(deps, dispatcher)
    await cadre.say("/menu")
    await cadre.press("Tạo khảo sát")
    await cadre.press("Sửa một mẫu")
    await cadre.press("Sửa mẫu: Mức độ hài lòng")
    assert "Đã chép mẫu" in cadre.text and "6." in cadre.text
    for n in range(7, 11):
        await cadre.press("Thêm câu hỏi")
        await cadre.press("Thang điểm")
        await cadre.say(f"Câu bổ sung số {n}")
        assert f"Đã thêm câu {n}/10" in cadre.text
    assert "Thêm câu hỏi" not in " ".join(cadre.labels())
    await cadre.press_raw("svf.add")                   # forged past the limit
    assert "đủ 10 câu hỏi" in cadre.text
    dialog = await deps.conversations.dialog("telegram", "cadre")
    assert dialog is not None and len(dialog.data["questions"]) == 10


async def test_form_refuses_members_and_stale_buttons(deps: Deps, dispatcher: Dispatcher) -> None:
    await make_member(deps, user_id="m", unit="cb-a1")
    member = Chat(dispatcher, "m")
    await member.press_raw("svf")
    assert "được phân công phụ trách đơn vị" in member.text
    cadre = await _cadre(deps, dispatcher)
    await cadre.press_raw("svf.k|single")
    assert "Không có khảo sát nào đang soạn" in cadre.text
    await cadre.press_raw("svf")
    await cadre.say("Tiêu đề thử")
    await cadre.press_raw("svf.k|bogus")
    assert "không hợp lệ" in cadre.text
    await cadre.press_raw("svf.go")                    # a button of a later step
    assert "bước đã qua" in cadre.text
    dialog = await deps.conversations.dialog("telegram", "cadre")
    assert dialog is not None and dialog.data["title"] == "Tiêu đề thử"
