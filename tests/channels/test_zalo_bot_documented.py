"""The Zalo Bot Platform as its documentation describes it (tests/standin/zalo_bot.py): idle
polls in both forms, `photo` and `photo_url`, stickers and unsupported messages, 403 "Internal
server error", 429 "Quota exceeded" (the monthly quota: bounded, then routed around), the webhook
as the production path, and a webhook secret of its own."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.broadcasts.service import Broadcast
from bot.channels.webhook import SECRET_HEADER, telegram_path
from bot.channels.zalo_common import UNREADABLE
from bot.channels.zalo_wiring import zalo_bot_secret
from bot.deps import Deps
from bot.org.models import Role
from tests.channels.conftest import TOKEN, live_settings
from tests.channels.zalo_live import ZALO_TOKEN, Running, start, start_polling, zalo_settings
from tests.conftest import free_port, make_member
from tests.standin.botapi import BotApiStandin
from tests.standin.zalo_bot import ZaloBotStandin, error
from tests.standin.zalo_oa import APP_ID, APP_SECRET, OA_SECRET, ZaloOaStandin

USER = "zu-2002"


@pytest.mark.parametrize("idle_status", [408, 200])
async def test_idle_polls_in_both_forms_are_quiet(idle_status: int, redis: Redis,
                                                  valkey_url: str, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """An idle poll is error 408, as HTTP 408 or HTTP 200: polled again at once, no error."""
    async with ZaloBotStandin(ZALO_TOKEN, idle=0.05, idle_status=idle_status) as standin:
        bot = await start_polling(standin, redis, valkey_url, tmp_path / "data")
        try:
            with caplog.at_level(logging.WARNING, logger="dvbot.zalo_bot"):
                await asyncio.sleep(1.5)
                await make_member(bot.deps, channel="zalo", user_id=USER, unit="cb-a1")
                standin.user_sends(USER, "/me")
                [answer] = await standin.wait_sent(USER)
        finally:
            await bot.stop()
    assert "Thông tin của tôi" in answer.text
    assert standin.count("getUpdates") >= 10  # no backoff while idle
    assert not [r for r in caplog.records if "getUpdates failed" in r.getMessage()]


async def test_polling_is_for_development_and_says_so(redis: Redis, valkey_url: str,
                                                      tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    async with ZaloBotStandin(ZALO_TOKEN) as standin:
        with caplog.at_level(logging.WARNING, logger="dvbot.zalo"):
            bot = await start_polling(standin, redis, valkey_url, tmp_path / "data")
            await bot.stop()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("development" in w and "DVBOT_WEBHOOK_URL" in w for w in warned)


@pytest.mark.parametrize("field", ["photo", "photo_url"])
async def test_image_updates_with_photo_or_photo_url(field: str, redis: Redis, valkey_url: str,
                                                     tmp_path: Path) -> None:
    """The doc's table says `photo`, the SDK and live payloads `photo_url`: both are photos."""
    async with ZaloBotStandin(ZALO_TOKEN) as standin:
        bot = await start_polling(standin, redis, valkey_url, tmp_path / "data")
        try:
            await make_member(bot.deps, channel="zalo", user_id=USER, unit="cb-a1")
            standin.user_sends(USER, "ảnh", photo=f"{standin.url}/img/a.png", photo_field=field)
            [answer] = await standin.wait_sent(USER)
        finally:
            await bot.stop()
    assert "chưa cần tệp hay ảnh" in answer.text  # taken as a photo (no flow asked for one)


@pytest.mark.parametrize("kind", ["sticker", "unsupported"])
async def test_stickers_and_unsupported_messages_get_a_polite_answer(
        kind: str, redis: Redis, valkey_url: str, tmp_path: Path) -> None:
    async with ZaloBotStandin(ZALO_TOKEN) as standin:
        bot = await start_polling(standin, redis, valkey_url, tmp_path / "data")
        try:
            await make_member(bot.deps, channel="zalo", user_id=USER, unit="cb-a1")
            if kind == "sticker":
                standin.user_sends(USER, sticker="0e078a2fb66a5f34067b")
            else:
                standin.user_sends(USER, unsupported=True)
            [answer] = await standin.wait_sent(USER)
        finally:
            await bot.stop()
    assert answer.text == UNREADABLE and "nhãn dán" in answer.text


async def test_403_is_an_internal_server_error_and_retried(redis: Redis, valkey_url: str,
                                                           tmp_path: Path) -> None:
    async with ZaloBotStandin(ZALO_TOKEN) as standin:
        bot = await start_polling(standin, redis, valkey_url, tmp_path / "data")
        try:
            await make_member(bot.deps, channel="zalo", user_id=USER, unit="cb-a1")
            standin.fail_next.append(error(403))
            standin.user_sends(USER, "/me")
            [answer] = await standin.wait_sent(USER)
        finally:
            await bot.stop()
    assert "Thông tin của tôi" in answer.text  # the reply was retried, not given up as blocked


# --- the monthly quota: bounded retries, then routed to another channel -----------------------
@pytest.fixture
async def both(redis: Redis, valkey_url: str, tmp_path: Path
               ) -> AsyncIterator[tuple[Running, ZaloBotStandin, ZaloOaStandin]]:
    """run_bot with the Zalo bot (polling) and the OA, billed OA sends allowed."""
    async with ZaloBotStandin(ZALO_TOKEN, monthly_quota=0) as bot_api, ZaloOaStandin() as oa:
        port = free_port()
        settings = zalo_settings(
            valkey_url, tmp_path / "data", zalo_bot_token=ZALO_TOKEN,
            zalo_bot_api_url=bot_api.url, zalo_oa_app_id=APP_ID, zalo_oa_app_secret=APP_SECRET,
            zalo_oa_secret_key=OA_SECRET, zalo_oa_access_token=oa.access_token,
            zalo_oa_refresh_token=oa.refresh_token, zalo_oa_api_url=oa.url,
            zalo_oa_oauth_url=oa.url, zalo_oa_billed=True, http_host="127.0.0.1",
            http_port=port)
        running = await start(settings, redis)
        await bot_api.wait_call("getUpdates")
        yield running, bot_api, oa
        await running.stop()


async def test_quota_429_is_bounded_then_members_go_by_another_channel(
        both: tuple[Running, ZaloBotStandin, ZaloOaStandin]) -> None:
    running, bot_api, oa = both
    deps = running.deps
    now = datetime.now(UTC)
    cadre = await make_member(deps, channel="zalo", user_id="cadre", unit="cb-a1",
                              grants=((Role.CADRE, "cb-a1"),), name="Cán Bộ Zalo")
    both_apps = await make_member(deps, channel="zalo", user_id="zb-both", unit="cb-a1")
    # On the bot only (the author is not in its own audience, so someone else must be).
    bot_only = await make_member(deps, channel="zalo", user_id="zb-only", unit="cb-a1",
                                 name="Chỉ Có Bot")
    await deps.account_links.redeem(await deps.account_links.create(both_apps.id), "zalo_oa",
                                    "oa-both")
    # Wrote to the OA three days ago: the OA would bill, so the free bot comes first.
    await deps.broadcasts.reach.interacted("zalo_oa", "oa-both", now.timestamp() - 72 * 3600)
    oa.interactions["oa-both"] = oa.now() - 72 * 3600
    oa.cloud_account = "ok"
    b = await deps.broadcasts.create(Broadcast(author=cadre.id, author_name=cadre.name,
                                               unit="cb-a1", text="Họp chi bộ tối nay.",
                                               at=now, created_at=now))
    [billed] = await oa.wait_sent("oa-both", timeout=30)
    assert "Họp chi bộ tối nay." in billed.text and billed.billed
    assert await deps.broadcasts.reach.exhausted("zalo")
    sends = [m for m, _ in bot_api.calls if m == "sendMessage"]
    assert 3 <= len(sends) <= 6  # a few tries, not one every second forever
    for _ in range(100):
        stats = await deps.outbox.stats(b.job_id)
        if stats.state == "done":
            break
        await asyncio.sleep(0.1)
    assert (stats.overall.sent, stats.overall.billed) == (1, 1)
    reasons = await deps.outbox.failure_reasons(b.job_id)
    assert reasons["zalo_bot_quota"] == 1  # the member on the bot only, counted with why
    report = await show_report(deps, cadre.id, b.id)
    assert "Zalo (bot): đã hết số tin nhắn được gửi trong tháng: 1" in report
    assert "Zalo (bot) đã hết số tin nhắn được gửi trong tháng này" in report
    # Later broadcasts route around the bot without trying it.
    recipients = await deps.broadcasts.audience(await deps.units.tree(), "cb-a1", [])
    by_member = {r.member_id: r for r in recipients}
    assert by_member[bot_only.id].reason == "zalo_bot_quota"
    assert (by_member[both_apps.id].channel, by_member[both_apps.id].cost) == ("zalo_oa",
                                                                               "billed")


async def show_report(deps: Deps, member_id: str, broadcast_id: str) -> str:
    """The broadcast's report as its author sees it (through the dispatcher, console-like)."""
    from bot.engine.actions import act
    from bot.engine.dispatcher import Dispatcher
    from bot.engine.messages import Incoming
    from handlers import build_router

    member = await deps.members.get(member_id)
    assert member is not None
    replies = await Dispatcher(build_router(), deps).handle(Incoming(
        channel="zalo", user_id=member.identities["zalo"], chat_id="x",
        action=act("bc.v", broadcast_id)))
    return "\n".join(r.text for r in replies)


# --- a webhook secret of its own ---------------------------------------------------------------
async def test_the_zalo_bot_secret_does_not_authenticate_telegram(
        redis: Redis, valkey_url: str, tmp_path: Path) -> None:
    port = free_port()
    secret = secrets.token_urlsafe(24)
    async with BotApiStandin(token=TOKEN, username="dvbot_test_bot") as telegram, \
            ZaloBotStandin(ZALO_TOKEN) as zalo:
        settings = live_settings(telegram, valkey_url, tmp_path / "data",
                                 webhook_url="https://bot.example.org", webhook_secret=secret,
                                 http_host="127.0.0.1", http_port=port,
                                 zalo_bot_token=ZALO_TOKEN, zalo_bot_api_url=zalo.url)
        running = await start(settings, redis)
        try:
            await zalo.wait_call("setWebhook")
            await telegram.wait_call("setWebhook")
            zalo_secret = zalo.webhook["secret_token"]
            assert zalo_secret == zalo_bot_secret(settings) and zalo_secret != secret
            update = {"update_id": 7001, "message": {
                "message_id": 1, "date": 1, "chat": {"id": 42, "type": "private"},
                "from": {"id": 42, "is_bot": False, "first_name": "A"}, "text": "/me"}}
            url = f"http://127.0.0.1:{port}{telegram_path(secret)}"
            async with aiohttp.ClientSession() as session:
                async with session.post(url, json=update,
                                        headers={SECRET_HEADER: zalo_secret}) as response:
                    assert response.status == 401
                async with session.post(url, json=update,
                                        headers={SECRET_HEADER: secret}) as response:
                    assert response.status == 200
        finally:
            await running.stop()
