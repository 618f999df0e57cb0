"""Template features: skip logic, exclusive options, anchored scales, directive templates that
cannot open before the directive is chosen; and the rewritten shipped templates."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Role
from bot.settings import Settings
from bot.surveys.models import BadAnswer, Kind, Question, Spec, check_answer
from bot.surveys.skips import (
    answered_upto,
    clamp_skips,
    for_directive,
    needs_directive,
    next_question,
    previous,
    toggled,
)
from bot.surveys.templates import load_templates
from tests.conftest import make_member
from tests.handlers.chat import Chat
from tests.library.helpers import import_shipped

WARNING = "không ghi tên, chức vụ hay chi tiết giúp nhận ra mình hoặc người khác"


def spec(*questions: dict[str, object], **extra: object) -> Spec:
    """A spec from question dicts."""
    return Spec.model_validate({"title": "Thử nghiệm", "questions": list(questions), **extra})


SINGLE = {"text": "Đã đến mấy lần?", "kind": "single", "options": ["Chưa lần nào", "Một lần"],
          "skip_to": {1: 4}}
SCALE = {"text": "Hài lòng ở mức nào?", "kind": "scale"}
TEXT = {"text": "Góp ý khác", "kind": "text"}


def test_skip_logic_moves_past_questions_that_do_not_apply() -> None:
    s = spec(SINGLE, SCALE, SCALE, TEXT)
    assert next_question(s, 0, 0) == 3  # "Chưa lần nào" -> question 4
    assert next_question(s, 0, 1) == 1
    answers = answered_upto([], 3, 0)
    assert answers == [0, None, None]
    assert previous([*answers, "góp ý"]) == [0, None, None]
    assert previous(answers) == []  # back over the skipped ones to question 1


def test_skips_past_removed_questions_are_dropped() -> None:
    s = spec(SINGLE, SCALE, SCALE, TEXT)
    kept = clamp_skips(list(s.questions))
    assert kept[0].skip_to == {1: 4}
    shorter = clamp_skips(list(s.questions[:2]))  # the chat's editor removed the last two
    assert shorter[0].skip_to == {} and spec(*(q.model_dump() for q in shorter))


@pytest.mark.parametrize(("question", "words"), [
    ({**SINGLE, "skip_to": {1: 2}}, "skip_to phải tới một câu sau câu kế tiếp"),
    ({**SINGLE, "skip_to": {1: 9}}, "skip_to phải tới một câu sau câu kế tiếp"),
    ({**SINGLE, "skip_to": {3: 4}}, "khóa là số thứ tự phương án"),
    ({**TEXT, "skip_to": {1: 4}}, "skip_to chỉ dùng cho câu chọn một"),
    ({**SCALE, "anchors": ["thấp"]}, "anchors chỉ dùng cho thang điểm"),
    ({**TEXT, "anchors": ["thấp", "cao"]}, "anchors chỉ dùng cho thang điểm"),
    ({**SINGLE, "skip_to": {}, "exclusive": [1]}, "exclusive chỉ dùng cho câu chọn nhiều"),
])
def test_bad_template_features_are_refused(question: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        spec(question, SCALE, SCALE, TEXT)


def test_exclusive_options_stand_alone() -> None:
    q = Question(text="Quán triệt bằng hình thức nào?", kind=Kind.MULTI,
                 options=["Hội nghị", "Sinh hoạt chi bộ", "Chưa được quán triệt"], exclusive=[3])
    assert check_answer(q, [0, 1]) == [0, 1]
    assert check_answer(q, [2]) == [2]
    with pytest.raises(BadAnswer, match="«Chưa được quán triệt» không chọn cùng"):
        check_answer(q, [0, 2])
    assert toggled(q, [0, 1], 2) == [2]  # ticking it clears the others
    assert toggled(q, [2], 0) == [0]  # and another one clears it


def test_directive_templates_wait_for_the_directive() -> None:
    s = spec({"text": "Đồng chí nắm {văn bản} ở mức nào?", "kind": "scale"},
             title="Triển khai {văn bản}", directive=True)
    assert needs_directive(s)
    filled = for_directive(s, "Chỉ thị 05-CT/TW")
    assert not needs_directive(filled) and filled.title == "Triển khai Chỉ thị 05-CT/TW"
    assert filled.questions[0].text == "Đồng chí nắm Chỉ thị 05-CT/TW ở mức nào?"


def test_shipped_templates_ask_well(settings: Settings) -> None:
    templates = {t.id: t.spec for t in load_templates(settings.content_path() / "surveys")}
    for template in templates.values():
        for q in template.questions:
            assert q.kind is not Kind.TEXT or WARNING in q.text, q.text
            assert q.kind is not Kind.SCALE or len(q.anchors) == 2, q.text  # anchored ends
            assert "tư tưởng" not in q.text
    assert "tháng qua" in templates["tam-tu-hang-thang"].title  # the questions' time frame
    assert "3 tháng qua" in templates["mot-cua"].title
    assert needs_directive(templates["trien-khai-chi-thi"])
    first = templates["trien-khai-chi-thi"].questions[0]
    assert first.options[first.exclusive[0] - 1] == "Chưa được quán triệt"
    assert templates["mot-cua"].questions[0].skip_to == {1: 6}


async def test_visits_skipped_by_typed_numbers_and_directive_chosen(
        deps: Deps, dispatcher: Dispatcher) -> None:
    await import_shipped(deps)
    await make_member(deps, channel="console", user_id="c", unit="khoi",
                      grants=((Role.CADRE, "khoi"),))
    await make_member(deps, channel="console", user_id="m", unit="cb-a1")
    cadre = Chat(dispatcher, "c", channel="console", buttons=False)
    await cadre.say("/menu")
    await cadre.say(str(cadre.labels().index("Tạo khảo sát") + 1))
    await cadre.say(str(next(i for i, x in enumerate(cadre.labels()) if "{văn bản}" in x) + 1))
    assert "chọn văn bản trước" in cadre.text and "290-QĐ/TW" not in cadre.text
    await cadre.say(str(next(i for i, x in enumerate(cadre.labels()) if "05-CT/TW" in x) + 1))
    await cadre.say("1")  # ✓ Chọn the unit
    assert "Xem trước khảo sát" in cadre.text and "triển khai Chỉ thị 05-CT/TW" in cadre.text
    assert "{văn bản}" not in cadre.text

    await cadre.say("/menu")
    await cadre.say(str(cadre.labels().index("Tạo khảo sát") + 1))
    await cadre.say(str(next(i for i, x in enumerate(cadre.labels()) if "một cửa" in x) + 1))
    await cadre.say("1")
    await cadre.say(str(next(i for i, x in enumerate(cadre.labels()) if "Mở khảo sát" in x) + 1))
    sid = cadre.button("Xem kết quả").action.split("|")[1]
    member = Chat(dispatcher, "m", channel="console", buttons=False)
    await member.press_raw(f"sv.go|{sid}")
    await member.say("1")  # "Chưa lần nào": the questions about visits do not apply
    assert "Câu 6/6" in member.text
    await member.press("« Câu trước")  # digits typed at a free-text question are the answer
    assert "Câu 1/6" in member.text  # back over the skipped questions
    await member.say("1")
    await member.say("Không có góp ý")
    assert "2. (bỏ qua — không áp dụng)" in member.text
    await member.say("1")  # ✓ Gửi câu trả lời
    assert "Đã ghi nhận" in member.text
    await cadre.press_raw(f"sv.cl|{sid}")  # fewer than k answers are counted at closing
    await cadre.press("Đóng khảo sát")
    tally = await deps.surveys.tally(sid)
    assert tally["khoi|0|0"] == 1 and not any(f.split("|")[1] in "1234" for f in tally
                                             if f.count("|") == 2)
