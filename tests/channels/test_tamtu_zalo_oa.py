"""Tâm tư over the Zalo Official Account, end to end over real HTTP with OA buttons (their
payloads come back as text): a member sends an anonymous thread with a photo, a cadre on the OA
answers from the queue (the stripped photo is uploaded, no name shown), and the member's notice
goes out through the OA sender of the delivery workers."""

from __future__ import annotations

from bot.org.models import Role
from tests.channels.test_zalo_oa import USER, bot, event, jpeg, oa, press
from tests.channels.zalo_live import Running
from tests.conftest import make_member
from tests.standin.zalo_oa import ZaloOaStandin

__all__ = ["bot", "oa"]  # the OA stand-in and run_bot fixtures, shared with the OA tests
CADRE = "oa-cadre"


async def test_anonymous_thread_by_oa_buttons_answered_with_a_notice(
        oa: ZaloOaStandin, bot: tuple[Running, str]) -> None:
    running, url = bot
    deps = running.deps
    await make_member(deps, channel="zalo_oa", user_id=USER, unit="cb-b1", name="Hà Thị Oa")
    for i in range(5):
        await make_member(deps, channel="zalo_oa", user_id=f"oa-{i}", unit="cb-b1")
    await make_member(deps, channel="zalo_oa", user_id=CADRE, unit="cb-b1", name="Cán bộ Oa",
                      grants=((Role.LISTENER, "cb-b1"),))
    oa.images["anh.jpg"] = (jpeg(), "image/jpeg")
    sent = await event(oa, url, "/tamtu")
    sent = await press(oa, url, sent, "Cấp ủy Chi bộ B1")
    sent = await press(oa, url, sent, "Công việc")
    sent = await event(oa, url, "Đề nghị công khai tiêu chí xét thi đua cuối năm của cơ quan.")
    assert await oa.post_event(url, oa.event(USER, name="user_send_image",
                                             image=f"{oa.url}/img/anh.jpg")) == 200
    sent = await oa.wait_sent(USER)
    sent = await press(oa, url, sent, "Ẩn danh")
    [done] = await press(oa, url, sent, "Gửi")
    code = done.text.split("Mã: ")[1].split(".")[0]

    assert await oa.post_event(url, oa.event(CADRE, "/tamtucanbo")) == 200
    [queue] = await oa.wait_sent(CADRE)
    payload = next(b["payload"] for b in queue.buttons if code in b["title"])
    assert await oa.post_event(url, oa.event(CADRE, payload)) == 200
    picture, card = await oa.wait_sent(CADRE, 2)
    assert picture.attachment_id is not None and "Hà Thị Oa" not in card.text
    assert "ẩn danh" in card.text
    # Seven actions are more than an OA message's five buttons: they come as numbered lines.
    assert "1. Trả lời" in card.text
    assert await oa.post_event(url, oa.event(CADRE, "1")) == 200
    [prompt] = await oa.wait_sent(CADRE)
    assert "nguyên văn" in prompt.text
    assert await oa.post_event(url, oa.event(CADRE, "Cơ quan sẽ niêm yết tiêu chí tại bảng tin.")
                               ) == 200
    await oa.wait_sent(CADRE)

    [notice] = await oa.wait_sent(USER, 1)
    assert "trả lời mới" in notice.text and code not in notice.text
    [mine] = await press(oa, url, [notice], "Tâm tư của tôi")
    assert f"Số 1: {code}" in mine.text
