"""The Zalo Bot Platform channel end to end: the real `run_bot` long-polls (or takes webhooks
from) the local stand-in over HTTP; a member joins, uses the menu and the library by typing
numbers only."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.channels.zalo_bot import webhook_path
from bot.channels.zalo_bot_client import ZaloBotClient
from bot.channels.zalo_bot_sender import ZaloBotSender
from bot.delivery.sender import Status
from bot.deps import Deps
from bot.engine.actions import act
from bot.engine.messages import Button, Reply, rows
from tests.channels.zalo_live import (
    ZALO_TOKEN,
    Running,
    number_of,
    say_as,
    start,
    start_polling,
    zalo_settings,
)
from tests.conftest import free_port, make_member
from tests.library.helpers import directive, import_folder, import_shipped, write
from tests.standin.zalo_bot import ZaloBotStandin, error

USER = "zu-1001"


@pytest.fixture
async def standin() -> AsyncIterator[ZaloBotStandin]:
    """The Bot Platform stand-in."""
    async with ZaloBotStandin(ZALO_TOKEN) as server:
        yield server


@pytest.fixture
async def polling(standin: ZaloBotStandin, redis: Redis, valkey_url: str,
                  tmp_path: Path) -> AsyncIterator[Running]:
    """run_bot with only the Zalo bot, long polling."""
    bot = await start_polling(standin, redis, valkey_url, tmp_path / "data")
    yield bot
    await bot.stop()


async def say(standin: ZaloBotStandin, text: str, count: int = 1) -> str:
    """Type `text`; the bot's answer (all `count` messages) as one string."""
    return await say_as(standin, USER, text, count)


async def test_join_menu_and_library_by_numbers(standin: ZaloBotStandin,
                                                polling: Running) -> None:
    await import_shipped(polling.deps)
    invite = await polling.invite("cb-a1")
    assert "họ và tên" in await say(standin, f"/start {invite.code}")
    menu = await say(standin, "Trần Thị Zalo")
    assert "Chào mừng đồng chí Trần Thị Zalo" in menu and "<b>" not in menu
    assert "1. Văn bản chỉ đạo" in menu and "0 để quay lại)" in menu
    member = await polling.deps.members.by_account("zalo", USER)
    assert member is not None and member.unit == "cb-a1"

    listing = await say(standin, number_of(menu, "Văn bản chỉ đạo"))
    card = await say(standin, number_of(listing, "25-NQ/TW"))
    assert "Nội dung chính" in card
    done = await say(standin, number_of(card, "Xác nhận đã nghiên cứu"))
    assert "Đã ghi nhận" in done
    assert await polling.deps.library.has_acked("25-nq-tw", member.id)

    # The quiz of a study material, every answer a typed number.
    material = await say(standin, "/tailieu")
    topic = await say(standin, number_of(material, "Dân vận khéo"))
    card = await say(standin, number_of(topic, "Dân vận khéo"))
    question = await say(standin, number_of(card, "Làm bài tự kiểm tra"))
    for answer in ("B. 2009", "A. “Dân vận khéo", "C. Đại hội XIII"):
        assert "Câu" in question
        question = await say(standin, number_of(question, answer))
    for tick in ("☐ A. Tuyên truyền", "☐ B. Biểu dương", "☐ C. Nhân rộng"):
        question = await say(standin, number_of(question, tick))
    question = await say(standin, number_of(question, "Xác nhận"))
    result = await say(standin, number_of(question, "C. Hơn 900.000"))
    assert "Đồng chí trả lời đúng 5/5 câu" in result
    assert await polling.deps.library.quiz_scores(member.id) == {"dan-van-kheo": 5}


async def test_numbers_out_of_range_and_zero(standin: ZaloBotStandin, polling: Running) -> None:
    await make_member(polling.deps, channel="zalo", user_id=USER, unit="cb-a1")
    menu = await say(standin, "menu")
    count = len([line for line in menu.splitlines() if line[:1].isdigit() and ". " in line])
    again = await say(standin, "42")
    assert f"từ 1 đến {count}" in again and "1. Văn bản chỉ đạo" in again
    profile = await say(standin, number_of(menu, "Thông tin của tôi"))
    assert "Ứng dụng liên lạc: Zalo" in profile
    back = await say(standin, "0")
    assert "Menu chính" in back
    assert "Không có lệnh /khongco" in await say(standin, "/khongco")


async def test_duplicate_message_is_handled_once(standin: ZaloBotStandin,
                                                 polling: Running) -> None:
    await make_member(polling.deps, channel="zalo", user_id=USER, unit="cb-a1")
    update = standin.user_sends(USER, "/me")
    standin.updates.put_nowait(update)  # the same message_id again
    standin.user_sends(USER, "/help")
    first, second = await standin.wait_sent(USER, 2, timeout=5)
    assert "Thông tin của tôi" in first.text and "/me" in second.text
    assert "Họ và tên:" not in second.text


async def test_long_replies_split_at_2000_characters(standin: ZaloBotStandin,
                                                     polling: Running, tmp_path: Path) -> None:
    await make_member(polling.deps, channel="zalo", user_id=USER, unit="cb-a1")
    paragraphs = [f"Đoạn {n}: " + "nội dung văn bản " * 50 for n in range(1, 5)]  # ~860 each
    write(tmp_path, "directives/a.md", directive("25-NQ/TW", body="\n\n".join(paragraphs)))
    await import_folder(polling.deps, tmp_path)
    listing = await say(standin, "/vanban")
    card = await say(standin, number_of(listing, "25-NQ/TW"))
    standin.user_sends(USER, number_of(card, "Đọc thêm"))
    parts = await standin.wait_sent(USER, 2)
    assert all(1 <= len(p.text) <= 2000 for p in parts)
    # Cut on paragraph boundaries: no paragraph is split across two messages.
    assert [p.text.count("Đoạn ") for p in parts] == [2, 2]
    assert parts[1].text.startswith("Đoạn 3") and "(Trả lời 1–3, 0 để quay lại)" in parts[1].text
    assert len(parts[0].text) + len(parts[1].text) > 2000


async def test_photo_arrives_as_url_and_is_fetchable(standin: ZaloBotStandin,
                                                     polling: Running) -> None:
    await make_member(polling.deps, channel="zalo", user_id=USER, unit="cb-a1")
    standin.updates.put_nowait(standin.update(USER, "ảnh", photo=f"{standin.url}/img/a.png"))
    [answer] = await standin.wait_sent(USER)
    assert "chưa cần tệp hay ảnh" in answer.text  # no flow asked for one: said politely


@pytest.fixture
async def webhook(standin: ZaloBotStandin, redis: Redis, valkey_url: str,
                  tmp_path: Path) -> AsyncIterator[tuple[Running, str, str]]:
    """run_bot with the Zalo bot in webhook mode; yields (bot, webhook URL, secret)."""
    secret = secrets.token_urlsafe(24)
    port = free_port()
    settings = zalo_settings(valkey_url, tmp_path / "data", zalo_bot_token=ZALO_TOKEN,
                             zalo_bot_api_url=standin.url, webhook_url="https://bot.example.org",
                             webhook_secret=secret, http_host="127.0.0.1", http_port=port)
    bot = await start(settings, redis)
    payload = await standin.wait_call("setWebhook")
    zalo_secret = standin.webhook["secret_token"]  # the Zalo bot's own, not Telegram's
    assert zalo_secret != secret and 8 <= len(zalo_secret) <= 256
    assert payload == {"url": f"https://bot.example.org{webhook_path(zalo_secret)}",
                       "secret_token": zalo_secret}
    yield bot, f"http://127.0.0.1:{port}{webhook_path(zalo_secret)}", zalo_secret
    await bot.stop()


async def test_webhook_flat_and_wrapped_bodies(standin: ZaloBotStandin,
                                               webhook: tuple[Running, str, str]) -> None:
    bot, url, secret = webhook
    await make_member(bot.deps, channel="zalo", user_id=USER, unit="cb-a1")
    status, _ = await standin.post_webhook(url, standin.update(USER, "/me"), secret)
    assert status == 200
    [profile] = await standin.wait_sent(USER)
    assert "Thông tin của tôi" in profile.text
    update = standin.update(USER, "/help")
    status, body = await standin.post_webhook(url, update, secret, wrapped=True)
    assert (status, body["duplicate"]) == (200, False)
    [help_] = await standin.wait_sent(USER)
    assert "/me" in help_.text
    status, body = await standin.post_webhook(url, update, secret)  # redelivered
    assert (status, body["duplicate"]) == (200, True)
    assert not standin.sent and [m for m, _ in standin.calls].count("sendMessage") == 2
    assert not any(m == "getUpdates" for m, _ in standin.calls)


async def test_webhook_rejects_a_wrong_secret(standin: ZaloBotStandin,
                                              webhook: tuple[Running, str, str]) -> None:
    bot, url, _secret = webhook
    await make_member(bot.deps, channel="zalo", user_id=USER, unit="cb-a1")
    status, _ = await standin.post_webhook(url, standin.update(USER, "/me"), "wrong-secret")
    assert status == 401
    async with aiohttp.ClientSession() as session, session.post(url, data=b"{}") as response:
        assert response.status == 401  # no header at all
    status, _ = await standin.post_webhook(url, {"nothing": 1}, _secret)
    assert status == 400
    assert not standin.sent
    assert not await bot.deps.redis.keys("dv:seen:zalo:*")


async def test_a_429_on_a_reply_is_waited_out(standin: ZaloBotStandin, polling: Running) -> None:
    await make_member(polling.deps, channel="zalo", user_id=USER, unit="cb-a1")
    standin.fail_next.append(error(429))  # documented without any retry_after
    assert "Thông tin của tôi" in await say(standin, "/me")


async def test_bulk_sender_classifies_platform_answers(standin: ZaloBotStandin,
                                                       deps: Deps) -> None:
    async with aiohttp.ClientSession() as session:
        client = ZaloBotClient(session, ZALO_TOKEN, standin.url)
        sender = ZaloBotSender(client, deps.conversations, deps.broadcasts.reach)
        notice = Reply("Văn bản mới", buttons=rows(Button("Mở văn bản", act("doc", "x"))))
        assert (await sender.deliver(USER, notice)).status is Status.SENT
        options = await deps.conversations.options("zalo", USER)
        assert options is not None and options.actions == [act("doc", "x")]  # "1" opens it
        cases = [(error(429), Status.RETRY_AFTER, ""),
                 ((502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}),
                  Status.TRANSIENT, "502/502: Bad Gateway"),
                 # 403 is documented as "Internal server error": retried, never "blocked".
                 (error(403), Status.TRANSIENT, "403/403: Internal server error"),
                 (error(400, "chat not found"), Status.FINAL, "chat_not_found")]
        for answer, status, reason in cases:
            standin.fail_next.append(answer)
            result = await sender.deliver(USER, Reply("x"))
            assert (result.status, result.reason) == (status, reason)


async def test_a_webhook_that_keeps_refusing_is_counted(standin: ZaloBotStandin,
                                                       webhook: tuple[Running, str, str]) -> None:
    _bot, url, _secret = webhook
    standin.webhook["secret_token"] = "changed-in-zalo-console"  # dvbot still has the old one
    assert await standin.deliver(url, standin.update(USER, "/me"), attempts=3) == 401
    assert standin.webhook_failures == 3
    base = url.split("/zalo/")[0]
    async with aiohttp.ClientSession() as session, session.get(f"{base}/metrics") as response:
        page = await response.text()
    assert 'dvbot_webhook_refused_total{channel="zalo_bot",status="401"} 3.0' in page
