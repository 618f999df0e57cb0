"""End to end over real HTTP (PTB + the Bot API stand-in): a member submits a proposal with a
photo the adapter downloads through getFile, a reviewer claims and approves it (the photo is
uploaded back with sendPhoto), and the member receives the notices from run_bot's senders."""

from __future__ import annotations

import io

from PIL import Image

from bot.org.models import Role
from tests.channels.conftest import LiveBot, button_data, text

MEMBER, REVIEWER = 5001, 5002


def jpeg() -> bytes:
    """A real JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


async def test_submit_with_photo_claim_approve_and_notify(live_bot: LiveBot) -> None:
    bot, standin = live_bot, live_bot.standin
    await bot.register(MEMBER, unit="cb-a1", name="Lê Thị Tác Giả")
    await bot.register(REVIEWER, unit="dbcs-a", name="Trần Văn Thẩm",
                       grants=((Role.REVIEWER, "dbcs-a"),))
    [menu] = await bot.send(MEMBER, "/menu")
    [ask] = await bot.press(MEMBER, menu, button_data(menu, "Đề xuất mô hình Dân vận khéo"))
    assert "Bước 1/7" in text(ask) and "5–150 ký tự" in text(ask)
    [areas] = await bot.send(MEMBER, "Dân vận khéo trong chuyển đổi số")
    [units] = await bot.press(MEMBER, areas, button_data(areas, "Kinh tế"))
    [who] = await bot.press(MEMBER, units, button_data(units, "Chi bộ A1"))
    assert "Bước 4/7" in text(who)
    for answer in ("Chi bộ A1 và Đoàn thanh niên",
                   "Hướng dẫn người dân cài đặt và dùng dịch vụ công trực tuyến tại nhà.",
                   "1.200 hồ sơ nộp trực tuyến, 95% hộ dân dùng thanh toán không tiền mặt."):
        await bot.send(MEMBER, answer)
    standin.user_sends_photo(MEMBER, content=jpeg())
    [got] = await standin.wait_sent(MEMBER, 1)
    assert "đã có 1/5 ảnh" in text(got)
    assert len(standin.calls_of("getFile")) == 1
    [review] = await bot.press(MEMBER, got, button_data(got, "Xong, xem lại"))
    [sent] = await bot.press(MEMBER, review, button_data(review, "Gửi đề xuất"))
    assert "Đã gửi đề xuất DVK-" in text(sent)
    code = text(sent).split("Đã gửi đề xuất ")[1].split("<")[0].split(" ")[0]

    [queue] = await bot.send(REVIEWER, "/thamdinh")
    assert "Đảng bộ cơ sở A: <b>1</b> đề xuất" in text(queue)
    photo, card = await bot.press(REVIEWER, queue, button_data(queue, "Đề xuất tiếp theo"), 2)
    assert photo.method == "sendPhoto" and code in text(card)
    [ask_answer] = await bot.press(REVIEWER, card, button_data(card, "Thẩm định đạt"))
    assert "ý kiến trả lời chính thức" in text(ask_answer)
    [ask_note] = await bot.send(REVIEWER, "Mô hình hiệu quả, đề nghị Khối công nhận.")
    [confirm] = await bot.press(REVIEWER, ask_note, button_data(ask_note, "Bỏ qua"))
    [done] = await bot.press(REVIEWER, confirm, button_data(confirm, "Xác nhận"))
    assert "Đã thẩm định đạt" in text(done)

    # Two outbox jobs (one per transition): their order of arrival is not guaranteed.
    notices = [text(m) for m in await standin.wait_sent(MEMBER, 2, timeout=10)]
    assert any("Trạng thái mới: <b>Đang thẩm định" in n for n in notices)
    assert any("Đã thẩm định đạt" in n and "đề nghị Khối công nhận" in n for n in notices)
    stored = await bot.deps.proposals.store.get(code)
    assert stored is not None and stored.level == 1 and len(stored.photos) == 1
