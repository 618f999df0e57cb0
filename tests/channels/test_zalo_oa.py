"""The Zalo OA channel end to end: the real `run_bot` takes signed webhook events and answers
through the OA stand-in over HTTP, with `oa.query.hide` buttons; tokens refresh once under
concurrent sends; replies outside the free window fail with their reason."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from PIL import Image
from redis.asyncio import Redis

from bot.broadcasts.service import Broadcast
from bot.channels.zalo_oa import webhook_path
from bot.channels.zalo_oa_client import (
    ACTION_PREFIX,
    PAGE_PREFIX,
    TokenStore,
    ZaloOaClient,
    ZaloOaError,
)
from bot.channels.zalo_oa_sender import ZaloOaSender
from bot.delivery.sender import Status
from bot.deps import Deps
from bot.engine.messages import Attachment, Reply
from bot.org.models import Role
from tests.channels.zalo_live import Running, start, zalo_settings
from tests.conftest import free_port, make_member
from tests.library.helpers import import_shipped
from tests.standin.zalo_oa import APP_ID, APP_SECRET, OA_SECRET, OaSent, ZaloOaStandin

USER = "oa-user-7"


@pytest.fixture
async def oa() -> AsyncIterator[ZaloOaStandin]:
    """The OA API stand-in."""
    async with ZaloOaStandin() as server:
        yield server


@pytest.fixture
async def bot(oa: ZaloOaStandin, redis: Redis, valkey_url: str,
              tmp_path: Path) -> AsyncIterator[tuple[Running, str]]:
    """run_bot with only the OA (its webhook server on a free port); yields (bot, URL)."""
    port = free_port()
    settings = zalo_settings(valkey_url, tmp_path / "data", zalo_oa_app_id=APP_ID,
                             zalo_oa_app_secret=APP_SECRET, zalo_oa_secret_key=OA_SECRET,
                             zalo_oa_access_token=oa.access_token,
                             zalo_oa_refresh_token=oa.refresh_token,
                             zalo_oa_api_url=oa.url, zalo_oa_oauth_url=oa.url,
                             http_host="127.0.0.1", http_port=port)
    running = await start(settings, redis)
    url = f"http://127.0.0.1:{port}{webhook_path(OA_SECRET)}"
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    yield running, url
    await running.stop()


async def event(oa: ZaloOaStandin, url: str, text: str, count: int = 1) -> list[OaSent]:
    """The user types `text` (or a button's payload arrives as text); the answers."""
    assert await oa.post_event(url, oa.event(USER, text)) == 200
    return await oa.wait_sent(USER, count)


async def press(oa: ZaloOaStandin, url: str, sent: list[OaSent], label: str) -> list[OaSent]:
    """Press the button whose title contains `label`: Zalo sends its payload as text. A
    label on a later page is reached through "Lựa chọn khác" first, as a person would."""
    for _ in range(5):
        titles = [b["title"] for m in sent for b in m.buttons]
        if any(label in t for t in titles) or not any("Lựa chọn khác" in t for t in titles):
            break
        sent = await press(oa, url, sent, "Lựa chọn khác")
    found = [b["payload"] for m in sent for b in m.buttons if label in b["title"]]
    assert len(found) == 1, f"{label!r} in {[b['title'] for m in sent for b in m.buttons]}"
    return await event(oa, url, found[0])


async def test_follow_join_menu_and_library_by_buttons(oa: ZaloOaStandin,
                                                       bot: tuple[Running, str]) -> None:
    running, url = bot
    await import_shipped(running.deps)
    invite = await running.invite("cb-a2")
    assert await oa.post_event(url, oa.event(USER, name="follow")) == 200
    [welcome] = await oa.wait_sent(USER)
    assert "mã mời" in welcome.text
    [ask] = await event(oa, url, invite.code)
    assert "họ và tên" in ask.text
    [menu] = await event(oa, url, "Phạm Thị Oa")
    assert "Chào mừng đồng chí Phạm Thị Oa" in menu.text
    assert 1 <= len(menu.buttons) <= 5
    # Every button is an action, except "Lựa chọn khác" when the menu has more than 5 items.
    assert all(b["type"] == "oa.query.hide"
               and b["payload"].startswith((ACTION_PREFIX, PAGE_PREFIX)) for b in menu.buttons)
    member = await running.deps.members.by_account("zalo_oa", USER)
    assert member is not None and member.unit == "cb-a2"

    listing = await press(oa, url, [menu], "Văn bản chỉ đạo")
    card = await press(oa, url, listing, "25-NQ/TW")
    assert "Nội dung chính" in card[0].text
    await press(oa, url, card, "Xác nhận đã nghiên cứu")
    assert await running.deps.library.has_acked("25-nq-tw", member.id)

    sent = await event(oa, url, "/tailieu")
    sent = await press(oa, url, sent, "Dân vận khéo")
    sent = await press(oa, url, sent, "Dân vận khéo")
    sent = await press(oa, url, sent, "Làm bài tự kiểm tra")
    for label in ("B. 2009", "A. “Dân vận khéo", "C. Đại hội XIII", "☐ A. Tuyên truyền",
                  "☐ B. Biểu dương", "☐ C. Nhân rộng", "Xác nhận", "C. Hơn 900.000"):
        sent = await press(oa, url, sent, label)
    assert "Đồng chí trả lời đúng 5/5 câu" in sent[0].text
    assert await running.deps.library.quiz_scores(member.id) == {"dan-van-kheo": 5}


async def test_more_than_five_options_are_paginated(oa: ZaloOaStandin,
                                                    bot: tuple[Running, str]) -> None:
    running, url = bot
    await make_member(running.deps, channel="zalo_oa", user_id=USER, unit="dbcs-a",
                      grants=((Role.CADRE, "dbcs-a"), (Role.ADMIN, "khoi")))
    [menu] = await event(oa, url, "menu")
    options = [line for line in menu.text.splitlines() if line[:1].isdigit()]
    assert len(options) > 5 and len(menu.buttons) == 5
    assert menu.buttons[-1]["title"] == "Lựa chọn khác ›"
    [page2] = await press(oa, url, [menu], "Lựa chọn khác")
    assert page2.buttons[0]["title"].startswith("5. ") and len(page2.buttons) <= 5
    # A typed number works too, and so does a typed payload.
    [profile] = await event(oa, url, str(len(options)))
    assert "Thông tin của tôi" in profile.text
    [me] = await event(oa, url, f"{ACTION_PREFIX}me")
    assert "Ứng dụng liên lạc: Zalo OA" in me.text
    [forged] = await event(oa, url, f"{ACTION_PREFIX}inv.x|../../etc")
    assert "không hợp lệ" in forged.text


async def test_wrong_signature_is_refused_and_nothing_processed(
        oa: ZaloOaStandin, bot: tuple[Running, str]) -> None:
    running, url = bot
    await make_member(running.deps, channel="zalo_oa", user_id=USER, unit="cb-a1")
    forged = oa.event(USER, "/me")
    assert await oa.post_event(url, forged, signature="mac=" + "0" * 64) == 401
    assert await oa.post_event(url, forged, signature="") == 401
    raw_other = b'{"timestamp": "1"}'
    assert await oa.post_event(url, forged, signature=oa.sign(raw_other, forged)) == 401
    await asyncio.sleep(0.2)
    assert not oa.sent
    assert not await running.deps.redis.keys("dv:seen:zalo_oa:*")


async def test_duplicate_event_is_handled_once(oa: ZaloOaStandin,
                                               bot: tuple[Running, str]) -> None:
    running, url = bot
    await make_member(running.deps, channel="zalo_oa", user_id=USER, unit="cb-a1")
    once = oa.event(USER, "/me", msg_id="same-msg")
    assert await oa.post_event(url, once) == 200
    assert await oa.post_event(url, once) == 200  # Zalo retries
    assert await oa.post_event(url, oa.event(USER, "/help")) == 200
    first, second = await oa.wait_sent(USER, 2)
    assert "Thông tin của tôi" in first.text and "Họ và tên:" not in second.text


async def test_proposal_with_a_photo_by_buttons_and_uploaded_photos(
        oa: ZaloOaStandin, bot: tuple[Running, str]) -> None:
    running, url = bot
    deps = running.deps
    await make_member(deps, channel="zalo_oa", user_id=USER, unit="cb-a1", name="Lê Thị Oa")
    await make_member(deps, channel="zalo_oa", user_id="rev", unit="dbcs-a", name="Trần Thẩm",
                      grants=((Role.REVIEWER, "dbcs-a"),))
    oa.images["anh.jpg"] = (jpeg(), "image/jpeg")
    oa.images["trang.html"] = (b"<html></html>", "text/html")
    [menu] = await event(oa, url, "menu")
    [ask] = await press(oa, url, [menu], "Đề xuất mô hình Dân vận khéo")
    assert "Bước 1/7" in ask.text
    sent = await event(oa, url, "Dân vận khéo với người cao tuổi")
    sent = await press(oa, url, sent, "Kinh tế")
    sent = await press(oa, url, sent, "Chi bộ A1")
    for answer in ("Chi hội người cao tuổi",
                   "Mỗi tháng họp một lần, đảng viên hướng dẫn dùng điện thoại thông minh.",
                   "300 cụ dùng được Zalo, 40 cụ nhận lương hưu qua tài khoản ngân hàng."):
        sent = await event(oa, url, answer)
    for name, expected in (("trang.html", "Tệp này không phải ảnh"), ("anh.jpg", "1/5 ảnh")):
        image = oa.event(USER, name="user_send_image", image=f"{oa.url}/img/{name}")
        assert await oa.post_event(url, image) == 200  # user_send_image
        sent = await oa.wait_sent(USER)
        assert expected in sent[0].text
    sent = await press(oa, url, sent, "Xong, xem lại")
    [done] = await press(oa, url, sent, "Gửi đề xuất")
    code = done.text.split("Đã gửi đề xuất ")[1].split()[0]
    stored = await deps.proposals.store.get(code)
    assert stored is not None and len(stored.photos) == 1
    on_disk = deps.library.files.path(stored.photos[0].file).read_bytes()
    with Image.open(io.BytesIO(on_disk)) as kept:  # re-encoded: the picture, not the bytes
        assert kept.format == "JPEG" and kept.size == Image.open(io.BytesIO(jpeg())).size

    # The reviewer's photo goes out through /upload/image and a media template (no public URL).
    assert await oa.post_event(url, oa.event("rev", "/thamdinh")) == 200
    [queue] = await oa.wait_sent("rev")
    assert await oa.post_event(url, oa.event("rev", next(
        b["payload"] for b in queue.buttons if "Đề xuất tiếp theo" in b["title"]))) == 200
    picture, card = await oa.wait_sent("rev", 2)
    assert picture.attachment_id is not None and picture.image is None
    assert oa.uploads[picture.attachment_id] == on_disk and picture.text == f"{code} — ảnh 1"
    assert code in card.text and card.buttons


def jpeg() -> bytes:
    """A real JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


async def test_photo_upload_refreshes_an_expired_token_and_falls_back(
        oa: ZaloOaStandin, deps: Deps, tmp_path: Path) -> None:
    photo = tmp_path / "anh.jpg"
    photo.write_bytes(jpeg())
    big = tmp_path / "lon.jpg"
    big.write_bytes(jpeg() + b"\0" * (1024 * 1024))  # over the OA's 1 MB: re-encoded
    async with aiohttp.ClientSession() as session:
        client = await client_for(oa, deps, session)
        sender = ZaloOaSender(client, deps.conversations)
        oa.expire_access_token()
        result = await sender.deliver(USER, Reply("", photo=Attachment(photo, "anh.jpg", "Ảnh")))
        assert result.status is Status.SENT and oa.refreshes == 1
        [sent] = await oa.wait_sent(USER)
        assert sent.attachment_id is not None and oa.uploads[sent.attachment_id] == jpeg()
        await sender.deliver(USER, Reply("", photo=Attachment(big, "lon.jpg", "Ảnh lớn")))
        [smaller] = await oa.wait_sent(USER)
        assert smaller.attachment_id is not None and smaller.text == "Ảnh lớn"
        sent_bytes = oa.uploads[smaller.attachment_id]
        assert sent_bytes.startswith(b"\xff\xd8\xff") and len(sent_bytes) <= 1024 * 1024


# --- the OA client and sender on their own (real Redis, stand-in over HTTP) ------------------
async def client_for(oa: ZaloOaStandin, deps: Deps,
                     session: aiohttp.ClientSession) -> ZaloOaClient:
    tokens = TokenStore(deps.redis, deps.keys, APP_ID)
    await tokens.seed(oa.access_token, oa.refresh_token, time.time())
    return ZaloOaClient(session, tokens, app_id=APP_ID, app_secret=APP_SECRET, api_url=oa.url,
                        oauth_url=oa.url)


async def test_token_refreshes_once_under_concurrent_sends(oa: ZaloOaStandin,
                                                           deps: Deps) -> None:
    async with aiohttp.ClientSession() as session:
        client = await client_for(oa, deps, session)
        sender = ZaloOaSender(client, deps.conversations)
        oa.expire_access_token()
        results = await asyncio.gather(*(sender.deliver(f"u{n}", Reply(f"Tin {n}"))
                                         for n in range(12)))
        assert [r.status for r in results] == [Status.SENT] * 12
        assert oa.refreshes == 1 and len(oa.sent) == 12
        stored = await client.tokens.current()
        assert (stored.access_token, stored.refresh_token) == (oa.access_token, "refresh-1")
        # The next expiry rotates again from the stored (rotated) refresh token.
        oa.expire_access_token()
        assert (await sender.deliver("u1", Reply("Lần nữa"))).status is Status.SENT
        assert oa.refreshes == 2 and (await client.tokens.current()).refresh_token == \
            "refresh-2"


async def test_errors_in_http_200_and_window_refusals(oa: ZaloOaStandin, deps: Deps) -> None:
    async with aiohttp.ClientSession() as session:
        client = await client_for(oa, deps, session)
        sender = ZaloOaSender(client, deps.conversations)
        oa.interactions["late"] = oa.now() - 8 * 86_400
        result = await sender.deliver("late", Reply("Thông báo"))
        assert (result.status, result.reason) == (Status.FINAL, "zalo_window_closed")
        assert oa.rejected == [-230] and oa.refreshes == 0  # not retried, no refresh
        with pytest.raises(ZaloOaError) as caught:
            await client.send_cs("u1", {"text": "x" * 2001})
        assert caught.value.code == -201
        # A refresh token Zalo no longer accepts: an error, and the stored pair is kept.
        oa.expire_access_token()
        oa.refresh_token = "revoked"
        assert (await sender.deliver("u1", Reply("x"))).status is Status.FINAL
        assert (await client.tokens.current()).refresh_token == "refresh-0"


async def test_broadcast_outside_the_reply_window_is_reported_with_its_reason(
        oa: ZaloOaStandin, bot: tuple[Running, str]) -> None:
    running, url = bot
    deps = running.deps
    cadre = await make_member(deps, channel="zalo_oa", user_id="cadre", unit="cb-a1",
                              grants=((Role.CADRE, "cb-a1"),), name="Cán Bộ Oa")
    await make_member(deps, channel="zalo_oa", user_id="near", unit="cb-a1")
    await make_member(deps, channel="zalo_oa", user_id="silent", unit="cb-a1")
    now = datetime.now(UTC)
    for user, hours_ago in (("cadre", 1), ("near", 47), ("silent", 8 * 24)):
        await deps.broadcasts.reach.interacted("zalo_oa", user, now.timestamp() - hours_ago * 3600)
        oa.interactions[user] = oa.now() - hours_ago * 3600
    b = await deps.broadcasts.create(Broadcast(author=cadre.id, author_name=cadre.name,
                                               unit="cb-a1", text="Họp chi bộ tối nay.",
                                               at=now, created_at=now))
    [delivered] = await oa.wait_sent("near", timeout=10)
    assert "Họp chi bộ tối nay." in delivered.text
    for _ in range(100):
        stats = await deps.outbox.stats(b.job_id)
        if stats.overall.sent + stats.overall.failed == 2:
            break
        await asyncio.sleep(0.05)
    assert (stats.overall.sent, stats.overall.failed) == (1, 1)  # not the cadre, the author
    assert oa.rejected == []  # the closed window was known: nothing sent into it
    assert await oa.post_event(url, oa.event("cadre", f"{ACTION_PREFIX}bc.v|{b.id}")) == 200
    for _ in range(5):
        [report] = await oa.wait_sent("cadre")
        if "Lý do lỗi" in report.text:
            break
    assert "Zalo OA: đã quá thời hạn được nhắn tin" in report.text and ": 1" in report.text
