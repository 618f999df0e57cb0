"""End to end over real HTTP: a cadre opens a survey from a template with button presses, the
member is notified by run_bot's sender workers, answers with buttons (and typed text), and the
cadre reads the results and gets the chart as a photo and the export as a document."""

from __future__ import annotations

from bot.org.models import Role
from tests.channels.conftest import LiveBot, button_data, text

CADRE, ALICE = 4101, 4102


async def test_cadre_opens_and_member_answers_with_buttons(live_bot: LiveBot) -> None:
    await live_bot.register(CADRE, unit="dbcs-a", grants=((Role.CADRE, "dbcs-a"),))
    alice = await live_bot.register(ALICE, unit="cb-a1")
    [menu] = await live_bot.send(CADRE, "/menu")
    [start] = await live_bot.press(CADRE, menu, button_data(menu, "Tạo khảo sát"))
    [picker] = await live_bot.press(CADRE, start, button_data(start, "tâm tư"))
    [preview] = await live_bot.press(CADRE, picker, button_data(picker, "Chọn Đảng bộ cơ sở A"))
    assert "Xem trước khảo sát" in text(preview) and "<b>1</b> đồng chí" in text(preview)
    # Anonymous: results open at closing, no setting to change that.
    assert "chỉ xem được sau khi khảo sát đóng" in text(preview)
    assert "Kết quả: chỉ xem sau khi đóng (khảo sát ẩn danh)" in str(preview.reply_markup)
    [opened] = await live_bot.press(CADRE, preview, button_data(preview, "Mở khảo sát"))
    assert opened.method == "editMessageText" and "Đã mở khảo sát" in text(opened)

    [notice] = await live_bot.standin.wait_sent(ALICE, 1, timeout=10)
    assert "Khảo sát mới" in text(notice)
    [q1] = await live_bot.press(ALICE, notice, button_data(notice, "Trả lời khảo sát"))
    assert "Câu 1/5" in text(q1)
    [q2] = await live_bot.press(ALICE, q1, button_data(q1, "4"))
    [q2] = await live_bot.press(ALICE, q2, button_data(q2, "Chế độ, chính sách"))
    assert "☑ Chế độ, chính sách" in str(q2.reply_markup)
    [q3] = await live_bot.press(ALICE, q2, button_data(q2, "Xong"))
    [back] = await live_bot.press(ALICE, q3, button_data(q3, "Câu trước"))
    assert "Câu 2/5" in text(back)
    assert "☑ Chế độ, chính sách" in str(back.reply_markup)  # going back keeps the ticks
    [back] = await live_bot.press(ALICE, back, button_data(back, "Chế độ, chính sách"))
    assert "☐ Chế độ, chính sách" in str(back.reply_markup)
    [q2b] = await live_bot.press(ALICE, back, button_data(back, "Việc làm, thu nhập"))
    [q3] = await live_bot.press(ALICE, q2b, button_data(q2b, "Xong"))
    [q4] = await live_bot.press(ALICE, q3, button_data(q3, "Có nhưng chậm"))
    [q5] = await live_bot.press(ALICE, q4, button_data(q4, "5"))
    assert "gõ câu trả lời" in text(q5)
    [confirm] = await live_bot.send(ALICE, "Mong được tập huấn <b>kỹ năng</b> số")
    assert "Việc làm, thu nhập" in text(confirm) and "&lt;b&gt;kỹ năng" in text(confirm)
    [done] = await live_bot.press(ALICE, confirm, button_data(confirm, "Gửi câu trả lời"))
    assert "Đã ghi nhận câu trả lời" in text(done)

    [waiting] = await live_bot.press(CADRE, opened, button_data(opened, "Xem kết quả"))
    assert "Đã trả lời: <b>1/1</b>" in text(waiting) and "sau khi đóng" in text(waiting)
    [ask] = await live_bot.press(CADRE, waiting, button_data(waiting, "Đóng khảo sát"))
    [results] = await live_bot.press(CADRE, ask, button_data(ask, "Đóng khảo sát"))
    assert "Đã trả lời: <b>1/1</b>" in text(results) and "Chưa đủ 5 phản hồi" in text(results)
    survey_id = button_data(results, "Biểu đồ").split("|")[1]
    tally = await live_bot.deps.surveys.tally(survey_id)
    assert tally["n|dbcs-a"] == 1 and tally["dbcs-a|1|0"] == 1 and "dbcs-a|1|2" not in tally
    assert str(ALICE) not in str(tally) and alice.unit == "cb-a1"  # recorded at dbcs-a (< k)
    [photo] = await live_bot.press(CADRE, results, button_data(results, "Biểu đồ"))
    assert photo.method == "sendPhoto" and photo.photo is not None
    [doc] = await live_bot.press(CADRE, photo, button_data(photo, "Về kết quả"))
    [xlsx] = await live_bot.press(CADRE, doc, button_data(doc, "Tải Excel"))
    assert xlsx.method == "sendDocument" and xlsx.document is not None
    assert (xlsx.document.file_name or "").endswith(".xlsx")
