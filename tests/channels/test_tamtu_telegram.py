"""Tâm tư end to end over real HTTP (PTB + the Bot API stand-in): a member sends an anonymous
thread with a photo the adapter downloads through getFile (the stored copy has lost its EXIF),
a cadre opens it from the queue (the stripped photo goes back with sendPhoto, no name shown)
and answers; the member gets the notice from run_bot's delivery workers and rates the answer."""

from __future__ import annotations

import io
import logging

import pytest
from PIL import Image

from bot.ops.logs import quiet_loggers
from bot.org.models import Role
from tests.channels.conftest import LiveBot, button_data, labels, text

MEMBER, CADRE = 6001, 6002
WORDS = "Đề nghị cơ quan xem lại chế độ trực đêm, anh em rất vất vả mà chưa có phụ cấp."


def jpeg_with_exif() -> bytes:
    """A real JPEG naming a camera."""
    exif = Image.Exif()
    exif[0x0110] = "PhoneModel-6001"
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


async def test_anonymous_thread_with_photo_answered_and_rated(
        live_bot: LiveBot, caplog: pytest.LogCaptureFixture) -> None:
    bot, standin = live_bot, live_bot.standin
    caplog.set_level(logging.DEBUG)  # what `dvbot run` logs with DVBOT_LOG_LEVEL=DEBUG
    quiet_loggers(logging.DEBUG)
    await bot.register(MEMBER, unit="cb-a1", name="Lê Thị Gửi")
    for i in range(5):  # cb-a1 reaches k = 5 members
        await bot.register(7000 + i, unit="cb-a1", name=f"Đảng viên {i}")
    await bot.register(CADRE, unit="cb-a1", name="Trần Văn Tiếp",
                       grants=((Role.LISTENER, "cb-a1"),))

    [menu] = await bot.send(MEMBER, "/menu")
    [levels] = await bot.press(MEMBER, menu, button_data(menu, "Gửi tâm tư, kiến nghị"))
    [topics] = await bot.press(MEMBER, levels, button_data(levels, "Cấp ủy Chi bộ"))
    [ask] = await bot.press(MEMBER, topics, button_data(topics, "Chế độ chính sách"))
    assert "10–2000 ký tự" in text(ask)
    [photo_step] = await bot.send(MEMBER, WORDS)
    assert "Không gửi ảnh" in labels(photo_step)
    standin.user_sends_photo(MEMBER, content=jpeg_with_exif())
    [who] = await standin.wait_sent(MEMBER, 1)
    assert len(standin.calls_of("getFile")) == 1 and "Ẩn danh" in labels(who)
    [summary] = await bot.press(MEMBER, who, button_data(who, "Ẩn danh"))
    assert "Ảnh: có" in text(summary) and "<b>ẩn danh</b>" in text(summary)
    [sent] = await bot.press(MEMBER, summary, button_data(summary, "Gửi"))
    code = text(sent).split("Mã: <b>")[1].split("<")[0]

    [queue] = await bot.send(CADRE, "/tamtucanbo")
    assert "Đang chờ: <b>1</b>" in text(queue)
    picture, card = await bot.press(CADRE, queue, button_data(queue, code), 2)
    assert picture.method == "sendPhoto" and code in text(card)
    assert "ẩn danh" in text(card) and "Lê Thị Gửi" not in text(card)
    thread = await bot.deps.tamtu.store.get(code)
    assert thread is not None and thread.posts[0].photo is not None
    kept = bot.deps.library.files.path(thread.posts[0].photo).read_bytes()
    assert b"PhoneModel-6001" not in kept
    [prompt] = await bot.press(CADRE, card, button_data(card, "Trả lời"))
    assert "Người gửi nhận được nguyên văn" in text(prompt)
    answered = await bot.send(CADRE, "Cơ quan sẽ đưa phụ cấp trực đêm vào quy chế chi tiêu.", 2)
    assert any("Đã gửi trả lời" in text(m) for m in answered)

    [notice] = await standin.wait_sent(MEMBER, 1, timeout=10)
    assert "Đồng chí có trả lời mới" in text(notice) and code not in text(notice)
    [mine] = await bot.press(MEMBER, notice, button_data(notice, "Tâm tư của tôi"))
    assert f"Số 1: {code}" in text(mine) and "Đã trả lời" in text(mine)
    photo_again, view = await bot.press(MEMBER, mine, button_data(mine, "Xem tâm tư số 1"), 2)
    assert photo_again.method == "sendPhoto" and "phụ cấp trực đêm vào quy chế" in text(view)
    [rated] = await bot.press(MEMBER, view, button_data(view, "Hài lòng"))
    assert "hài lòng" in text(rated)
    stored = await bot.deps.tamtu.store.get(code)
    assert stored is not None and stored.satisfied is True and stored.author_id == ""
    # The DEBUG log of the whole run: never the thread's text, never its code with the sender.
    logged = [r.getMessage() for r in caplog.records]
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert not [m for m in logged if WORDS[:40] in m]
    assert not [m for m in logged if code in m and str(MEMBER) in m]
