"""Self-check quizzes by buttons (and by typed letters): score, explanations, best score kept;
stale or forged presses change nothing."""

from __future__ import annotations

import pytest

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from tests.conftest import make_member
from tests.handlers.chat import Chat
from tests.library.helpers import import_shipped


@pytest.fixture
async def chat(deps: Deps, dispatcher: Dispatcher) -> Chat:
    """A member with the shipped library."""
    await import_shipped(deps)
    await make_member(deps, user_id="m", unit="cb-a1")
    return Chat(dispatcher, "m")


async def test_quiz_with_single_and_multi_answers(chat: Chat, deps: Deps) -> None:
    await chat.press_raw("doc|dan-van-kheo")
    await chat.press("Làm bài tự kiểm tra (5 câu)")
    assert "Câu 1/5" in chat.text and "B. 2009" in chat.text
    await chat.press("B. 2009")                          # right
    assert "Câu 2/5" in chat.text
    await chat.press("B. “Không có gì quý hơn")          # wrong
    await chat.press("C. Đại hội XIII")                  # right
    assert "Chọn <b>tất cả</b>" in chat.replies[0].text
    await chat.press("☐ A. Tuyên truyền")
    await chat.press("☐ B. Biểu dương")
    await chat.press("☐ D. Giữ kín")
    await chat.press("☑ D. Giữ kín")                     # untick
    assert "☑ A. Tuyên truyền" in chat.labels() and "☐ C. Nhân rộng" in chat.labels()
    await chat.press("Xác nhận")                         # A+B only: wrong
    await chat.press("C. Hơn 900.000")                   # right
    text = chat.text
    assert "Đồng chí trả lời đúng 3/5 câu" in text and "cao nhất của đồng chí: 3/5" in text
    assert "✗ Câu 2." in text and "Đồng chí chọn: B" in text and "✓ Câu 5." in text
    assert "Đáp án đúng: A. Tuyên truyền; B. Biểu dương; C. Nhân rộng" in text
    assert "Sau 10 năm phát động" in text  # the explanation
    assert await deps.library.quiz_scores((await _me(deps)).id) == {"dan-van-kheo": 3}

    await chat.press("Làm lại")
    for label in ("A. 1999", "B. “Không", "A. Đại hội XI"):
        await chat.press(label)
    await chat.press("Xác nhận")  # nothing ticked
    assert "chưa chọn đáp án nào" in chat.text
    await chat.press("☐ D. Giữ kín")
    await chat.press("Xác nhận")
    await chat.press("A. Hơn 9.000")
    assert "trả lời đúng 0/5" in chat.text and "cao nhất của đồng chí: 3/5" in chat.text


async def test_stale_and_forged_presses(chat: Chat) -> None:
    await chat.press_raw("qz.a|dan-van-kheo|0|2")  # no quiz open
    assert "chưa bắt đầu" in chat.text
    await chat.press_raw("qz|dan-van-kheo")
    await chat.press_raw("qz.a|dan-van-kheo|3|1")  # not the question on screen
    assert "không còn trên màn hình" in chat.text and "Câu 1/5" in chat.text
    await chat.press_raw("qz.a|dan-van-kheo|0|9")  # no such option
    assert "Câu 1/5" in chat.text
    await chat.press_raw("qz.a|tac-pham-dan-van|0|1")  # another material's quiz
    assert "chưa bắt đầu" in chat.text
    await chat.press_raw("qz|25-nq-tw")  # a directive has no quiz
    assert "Không tìm thấy" in chat.text


async def test_typed_letters_answer_the_quiz(deps: Deps, dispatcher: Dispatcher) -> None:
    await import_shipped(deps)
    await make_member(deps, channel="console", user_id="c", unit="cb-a1")
    chat = Chat(dispatcher, "c", channel="console", buttons=False)
    await chat.press_raw("qz|phuong-cham-6-dan")
    await chat.say("c")
    assert "Câu 2/4" in chat.text
    await chat.say("z")
    assert "chữ cái A, B, C" in chat.text
    await chat.say("3")  # numbered option 3 = C
    assert "Câu 3/4" in chat.text


async def _me(deps: Deps):  # type: ignore[no-untyped-def]
    return await deps.members.by_account("telegram", "m")
