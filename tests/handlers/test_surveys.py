"""Surveys through the real dispatcher: a cadre opens one from a template, members answer by
buttons and by typed numbers, results respect k; bad input is refused and changes nothing."""

from __future__ import annotations

import pytest

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Role
from tests.conftest import Clock, make_member
from tests.delivery.conftest import deliver_job
from tests.handlers.chat import Chat


async def _cadre(deps: Deps, dispatcher: Dispatcher, unit: str = "khoi") -> Chat:
    await make_member(deps, user_id="cadre", unit=unit, name="Trần Cán Bộ",
                      grants=((Role.CADRE, unit),))
    return Chat(dispatcher, "cadre")


async def _open_template(cadre: Chat, template: str, unit_button: str,
                         toggles: tuple[str, ...] = ()) -> str:
    await cadre.say("/menu")
    await cadre.press("Tạo khảo sát")
    await cadre.press(template)
    await cadre.press(unit_button)
    assert "Xem trước khảo sát" in cadre.text
    for label in toggles:
        await cadre.press(label)
    await cadre.press("Mở khảo sát")
    assert "Đã mở khảo sát" in cadre.text, cadre.text
    return cadre.button("Xem kết quả").action.split("|")[1]


async def test_open_from_template_answer_by_buttons_and_see_results(
        deps: Deps, dispatcher: Dispatcher) -> None:
    cadre = await _cadre(deps, dispatcher)
    members = [await make_member(deps, user_id=f"m{i}", unit="cb-a1") for i in range(6)]
    sid = await _open_template(cadre, "Mức độ hài lòng với bộ phận một cửa", "Chọn Đảng bộ Khối")
    survey = await deps.surveys.get(sid)
    assert survey is not None and survey.audience == 6 and survey.anonymous  # not the author
    jobs = await deps.outbox.stats(f"sv-{sid}")
    assert jobs.overall.total == 6  # everyone in the snapshot, not the cadre who opened it

    for i, _member in enumerate(members):
        chat = Chat(dispatcher, f"m{i}")
        await chat.say("/khaosat")
        await chat.press("Mức độ hài lòng")
        assert "Câu 1/6" in chat.text and "ẩn danh" in chat.text
        await chat.press("1–2 lần")
        assert "Câu 2/6" in chat.text
        await chat.press(str(4 + i % 2))               # scale 4 or 5
        await chat.press("Đúng hẹn")
        await chat.press("Hướng dẫn chưa rõ ràng")
        await chat.press("Thời gian chờ đợi lâu")
        await chat.press("Cơ sở vật chất")             # a third tick over the max of 2
        assert "tối đa 2" in chat.text and "☐ Cơ sở vật chất" in chat.labels()
        await chat.press("Xong")
        await chat.press("3")
        await chat.say(f"Góp ý số {i}")
        assert "Xác nhận câu trả lời" in chat.text and "Góp ý số" in chat.text
        await chat.press("Gửi câu trả lời")
        assert "Đã ghi nhận câu trả lời" in chat.text
        assert await deps.conversations.dialog("telegram", f"m{i}") is None

    await cadre.press_raw(f"sv.r|{sid}")
    assert "Đã trả lời: 6/6" in cadre.text and "chỉ xem được sau khi đóng" in cadre.text
    assert "Biểu đồ" not in cadre.labels()  # anonymous: no view while answers come in
    await cadre.press("Đóng khảo sát")
    await cadre.press("Đóng khảo sát")
    text = cadre.text
    assert "Đã trả lời: 6/6" in text
    assert "1–2 lần: 6 (100%)" in text and "Hướng dẫn chưa rõ ràng: 6 (100%)" in text
    assert "Điểm trung bình: 4,50" in text
    assert "6 ý kiến (trích một số)" in text
    # Khối → A (6 answers) shown; B has nobody; A1 shown under A; direct part at Khối is 0.
    assert "Đảng bộ cơ sở A: 6/6 (100%)" in text and "Chi bộ A1: 6/6" in text


async def test_answering_twice_is_refused_and_changes_nothing(
        deps: Deps, dispatcher: Dispatcher) -> None:
    cadre = await _cadre(deps, dispatcher, "cb-a1")
    await make_member(deps, user_id="m", unit="cb-a1")
    sid = await _open_template(cadre, "tâm tư", "Chọn Chi bộ A1")
    chat = Chat(dispatcher, "m")
    await _answer_pulse(chat, sid)
    assert "Đã ghi nhận" in chat.text
    before = await deps.surveys.tally(sid)
    await chat.press_raw(f"sv.go|{sid}")
    assert "đã trả lời khảo sát" in chat.text
    assert await deps.surveys.tally(sid) == before


async def _answer_pulse(chat: Chat, sid: str) -> None:
    await chat.press_raw(f"sv.go|{sid}")
    await chat.press("4")
    await chat.press("Việc làm, thu nhập")
    await chat.press("Xong")
    await chat.press("Đầy đủ, kịp thời")
    await chat.press("5")
    await chat.say("Không có kiến nghị")
    await chat.press("Gửi câu trả lời")


async def test_bad_input_gets_a_clear_answer_and_changes_nothing(
        deps: Deps, dispatcher: Dispatcher, clock: Clock) -> None:
    cadre = await _cadre(deps, dispatcher, "dbcs-a")
    await make_member(deps, user_id="in", unit="cb-a1")
    await make_member(deps, user_id="out", unit="cb-b1")
    sid = await _open_template(cadre, "tâm tư", "Chọn Đảng bộ cơ sở A")
    outsider = Chat(dispatcher, "out")
    await outsider.press_raw(f"sv.go|{sid}")
    assert "không dành cho đơn vị của đồng chí" in outsider.text

    chat = Chat(dispatcher, "in")
    await chat.press_raw(f"sv.go|{sid}")
    await chat.press_raw(f"sv.a|{sid}|0|7")          # forged option index on a 1–5 scale
    assert "Phương án không hợp lệ" in chat.text
    await chat.press_raw(f"sv.a|{sid}|3|1")          # a question not on screen
    assert "không còn đang mở" in chat.text
    await chat.press_raw(f"sv.a|{sid}|0|x")
    assert "không hợp lệ" in chat.text
    await chat.press_raw(f"sv.a|{sid}|0|3")          # the real "4": the dialog was kept
    assert "Câu 2/5" in chat.text
    await chat.press("Việc làm, thu nhập")
    await chat.press("Xong")
    await chat.press("Đầy đủ, kịp thời")
    await chat.press("5")
    await chat.say("x" * 1001)
    assert "1001 ký tự, vượt mức 1000" in chat.text and "chưa được ghi" in chat.text
    await chat.press_raw("sv.go|999")
    assert "Không tìm thấy khảo sát" in chat.text
    tally = await deps.surveys.tally(sid)
    assert not any(f.startswith("n|") for f in tally)

    await chat.say("Ý kiến vừa đủ dài")
    clock.advance(days=8)                            # the pulse template stays open 7 days
    await chat.press("Gửi câu trả lời")
    assert "đã đóng" in chat.text
    assert await deps.surveys.tally(sid) == tally


async def test_numbered_replies_only(deps: Deps, dispatcher: Dispatcher) -> None:
    """Console/Zalo: the whole path by typed numbers (and the free text typed)."""
    await make_member(deps, channel="console", user_id="c", unit="khoi",
                      grants=((Role.CADRE, "khoi"),))
    await make_member(deps, channel="console", user_id="m", unit="cb-a1")
    cadre = Chat(dispatcher, "c", channel="console", buttons=False)
    await cadre.say("/menu")
    await cadre.say(str(cadre.labels().index("Tạo khảo sát") + 1))
    await cadre.say(str(next(i for i, x in enumerate(cadre.labels()) if "tâm tư" in x) + 1))
    await cadre.say("1")                               # ✓ Chọn Đảng bộ Khối
    assert "Xem trước khảo sát" in cadre.text
    await cadre.say(str(next(i for i, x in enumerate(cadre.labels()) if "Mở khảo sát" in x) + 1))
    assert "Đã mở khảo sát" in cadre.text
    sid = cadre.button("Xem kết quả").action.split("|")[1]

    member = Chat(dispatcher, "m", channel="console", buttons=False)
    await member.say("/khaosat")
    await member.say("1")
    assert "Câu 1/5" in member.text
    await member.say("3")                              # scale 3
    await member.say("2")                              # tick "Sắp xếp tổ chức bộ máy"
    await member.say("7")                              # Xong ›
    await member.say("1")                              # Đầy đủ, kịp thời
    await member.say("5")                              # scale 5
    await member.say("Đề nghị tăng cường sinh hoạt chuyên đề")
    assert "Xác nhận câu trả lời" in member.text
    await member.say("1")                              # ✓ Gửi câu trả lời
    assert "Đã ghi nhận câu trả lời" in member.text
    survey = await deps.surveys.get(sid)
    assert survey is not None and "n|khoi" not in await deps.surveys.tally(sid)  # 1 < k waits
    await deps.surveys.close(survey, deps.clock())
    tally = await deps.surveys.tally(sid)
    assert tally["khoi|0|2"] == 1 and tally["khoi|1|1"] == 1 and tally["khoi|3|4"] == 1


@pytest.mark.parametrize("payload", ["svc.pick|khoi", "sv.r|1", "sv.rm|1", "sv.x|1|csv"])
async def test_cadre_routes_refuse_a_member(deps: Deps, dispatcher: Dispatcher,
                                            payload: str) -> None:
    cadre = await _cadre(deps, dispatcher, "cb-a1")
    await _open_template(cadre, "tâm tư", "Chọn Chi bộ A1")
    await make_member(deps, user_id="m", unit="cb-a1")
    chat = Chat(dispatcher, "m")
    await chat.press_raw(payload)
    assert "không có quyền" in chat.text or "hết hạn" in chat.text


async def test_reminder_reaches_only_those_who_have_not_answered(
        deps: Deps, dispatcher: Dispatcher, clock: Clock) -> None:
    cadre = await _cadre(deps, dispatcher, "cb-a1")
    await make_member(deps, user_id="done", unit="cb-a1")
    for i in range(2):
        await make_member(deps, user_id=f"w{i}", unit="cb-a1")
    sid = await _open_template(cadre, "tâm tư", "Chọn Chi bộ A1")
    await _answer_pulse(Chat(dispatcher, "done"), sid)
    await cadre.press_raw(f"sv.rm|{sid}")
    assert "Đang gửi nhắc nhở tới 2 đồng chí chưa trả lời" in cadre.text  # not the cadre
    assert "không được hiển thị" in cadre.text and "Nguyễn" not in cadre.text
    job = f"sv-{sid}.rm-{int(clock.now.timestamp())}"
    # The job keeps no list of whom it reminds: random tokens and sealed addresses only.
    assert not await deps.redis.exists(deps.keys.job_recipients(job))
    stream = await deps.redis.xrange(deps.keys.job_queue(job, "telegram"))
    assert len(stream) == 2 and all(f["m"][0] == f["a"][0] == "~" and f["g"] == ""
                                    for _id, f in stream)
    assert "w0" not in str(stream) and "cadre" not in str(stream)
    reached = {a for a, text, _at in (await deliver_job(deps, job)).sent if "Nhắc nhở" in text}
    assert reached == {"w0", "w1"}  # never "done", who answered, nor the author
    assert not await deps.redis.exists(deps.keys.job_sent(job))  # served: tokens deleted too
    await cadre.press_raw(f"sv.rm|{sid}")
    assert "trong vòng một giờ" in cadre.text
