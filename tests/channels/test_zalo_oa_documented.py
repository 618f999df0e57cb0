"""The Zalo OA as its documentation describes it (tests/standin/zalo_oa.py): -216 and -220,
tokens refreshed ahead of time and trouble told, -32, each refusal with its own reason, -234 at
night, JPEG ≤ 1 MB uploads, polite answers to stickers and files, domain verification, a webhook
that keeps failing, and signed events replayed later."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from PIL import Image
from redis.asyncio import Redis

from bot.channels.zalo_common import UNREADABLE
from bot.channels.zalo_oa import ZaloOaChannel, webhook_path
from bot.channels.zalo_oa_client import ZaloOaClient
from bot.channels.zalo_oa_sender import ZaloOaSender, until_morning
from bot.channels.zalo_oa_tokens import TokenKeeper, TokenStore
from bot.delivery.sender import Status
from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.engine.messages import Attachment, Reply
from bot.org.models import Role
from handlers.broadcasts.report import REASONS
from tests.channels.zalo_live import ZALO_TOKEN, Running, start, zalo_settings
from tests.conftest import free_port, make_member
from tests.standin.serve import serve
from tests.standin.zalo_bot import ZaloBotStandin
from tests.standin.zalo_oa import APP_ID, APP_SECRET, OA_SECRET, ZaloOaStandin

USER = "oa-user-9"


@pytest.fixture
async def oa() -> AsyncIterator[ZaloOaStandin]:
    """The OA API stand-in."""
    async with ZaloOaStandin() as server:
        yield server


async def client_for(oa: ZaloOaStandin, deps: Deps, session: aiohttp.ClientSession,
                     tokens: TokenStore | None = None) -> ZaloOaClient:
    tokens = tokens or TokenStore(deps.redis, deps.keys, APP_ID)
    await tokens.seed(oa.access_token, oa.refresh_token, time.time())
    return ZaloOaClient(session, tokens, app_id=APP_ID, app_secret=APP_SECRET, api_url=oa.url,
                        oauth_url=oa.url)


# --- tokens ---------------------------------------------------------------------------------
async def test_an_expired_token_answered_with_220_is_refreshed(oa: ZaloOaStandin,
                                                               deps: Deps) -> None:
    async with aiohttp.ClientSession() as session:
        sender = ZaloOaSender(await client_for(oa, deps, session), deps.conversations)
        oa.expire_access_token()  # Zalo: -220 "access_token is expired or removed"
        assert (await sender.deliver(USER, Reply("Tin 1"))).status is Status.SENT
    assert oa.rejected == [-220] and oa.refreshes == 1


async def test_tokens_are_refreshed_ahead_of_time_even_when_quiet(oa: ZaloOaStandin,
                                                                  deps: Deps) -> None:
    now = [time.time()]
    async with aiohttp.ClientSession() as session:
        client = await client_for(oa, deps, session)
        keeper = TokenKeeper(client.tokens, client.renew, clock=lambda: now[0])
        assert await keeper.check() is None and oa.refreshes == 0  # fresh: nothing to do
        now[0] += 24.5 * 3600  # before the 25 h expiry, with nothing sent meanwhile
        assert await keeper.check() == "access" and oa.refreshes == 1
        # The refresh token's 3 months: renewed well before, even if access tokens are fresh.
        stored = await client.tokens.current()
        await deps.redis.set(deps.keys.zalo_oa_tokens(APP_ID), stored.model_copy(update={
            "access_at": now[0], "refresh_at": now[0] - 81 * 86_400}).model_dump_json())
        assert await keeper.check() == "refresh" and oa.refreshes == 2
        assert (await client.tokens.current()).refresh_token == oa.refresh_token


async def test_a_new_configured_refresh_token_replaces_a_dead_pair(oa: ZaloOaStandin,
                                                                   deps: Deps) -> None:
    tokens = TokenStore(deps.redis, deps.keys, APP_ID)
    await tokens.seed("a-1", "r-1", time.time())
    await tokens.seed("a-2", "r-1", time.time())  # a restart with the same settings
    assert (await tokens.current()).access_token == "a-1"
    await tokens.note_trouble("refused")
    await tokens.seed("", "r-2", time.time())  # the operator put in a new refresh token
    assert (await tokens.current()).refresh_token == "r-2" and await tokens.trouble() is None


# --- refusals, each with its reason ---------------------------------------------------------
@pytest.mark.parametrize(("setup", "reason"), [
    ({"user": -213}, "zalo_not_follower"),
    ({"user": -227}, "zalo_inactive"),
    ({"user": -218}, "zalo_oa_receive_quota"),
    ({"oa": -224}, "zalo_oa_tier"),
    ({"oa": -211}, "zalo_quota"),
    ({"age": 8 * 86_400}, "zalo_window_closed"),
    ({"age": 72 * 3600}, "zalo_oa_billing"),  # billed, and no Zalo Cloud Account: -320
])
async def test_each_refusal_has_its_own_reason(setup: dict[str, int], reason: str,
                                               oa: ZaloOaStandin, deps: Deps) -> None:
    if "user" in setup:
        oa.user_errors[USER] = setup["user"]
    if "oa" in setup:
        oa.oa_error = setup["oa"]
    if "age" in setup:
        oa.interactions[USER] = oa.now() - setup["age"]
    async with aiohttp.ClientSession() as session:
        sender = ZaloOaSender(await client_for(oa, deps, session), deps.conversations)
        result = await sender.deliver(USER, Reply("Thông báo"))
    assert (result.status, result.reason) == (Status.FINAL, reason)
    assert reason in REASONS and "Zalo OA" in REASONS[reason]


async def test_minus_32_backs_off_and_the_night_waits_for_the_morning(oa: ZaloOaStandin,
                                                                      deps: Deps) -> None:
    async with aiohttp.ClientSession() as session:
        sender = ZaloOaSender(await client_for(oa, deps, session), deps.conversations)
        oa.rate_limited = 2
        first = await sender.deliver(USER, Reply("x"))
        second = await sender.deliver(USER, Reply("x"))
        assert [first.status, second.status] == [Status.RETRY_AFTER] * 2
        assert second.seconds > first.seconds  # a growing backoff
        assert (await sender.deliver(USER, Reply("x"))).status is Status.SENT
        oa.oa_error = -234
        night = await sender.deliver(USER, Reply("x"))
    assert night.status is Status.RETRY_AFTER and 0 < night.seconds <= 24 * 3600


def test_until_morning_is_six_oclock_vietnam_time() -> None:
    from datetime import UTC, datetime
    assert until_morning(datetime(2026, 11, 25, 16, 0, tzinfo=UTC)) == 7 * 3600  # 23:00 VN
    assert until_morning(datetime(2026, 11, 25, 22, 30, tzinfo=UTC)) == 30 * 60  # 5:30 VN


# --- run_bot with the OA (and the Zalo bot, to tell an admin) --------------------------------
@pytest.fixture
async def live(oa: ZaloOaStandin, redis: Redis, valkey_url: str, tmp_path: Path
               ) -> AsyncIterator[tuple[Running, str, int, ZaloBotStandin]]:
    """run_bot with the OA and the Zalo bot; yields (bot, OA webhook URL, port, bot API)."""
    verifier = tmp_path / "zalo_verifierAbC123.html"
    verifier.write_text('<meta name="zalo-platform-site-verification" content="AbC123" />')
    async with ZaloBotStandin(ZALO_TOKEN) as bot_api:
        port = free_port()
        settings = zalo_settings(
            valkey_url, tmp_path / "data", zalo_oa_app_id=APP_ID,
            zalo_oa_app_secret=APP_SECRET, zalo_oa_secret_key=OA_SECRET,
            zalo_oa_access_token=oa.access_token, zalo_oa_refresh_token=oa.refresh_token,
            zalo_oa_api_url=oa.url, zalo_oa_oauth_url=oa.url, zalo_bot_token=ZALO_TOKEN,
            zalo_bot_api_url=bot_api.url, zalo_verifier_file=verifier,
            http_host="127.0.0.1", http_port=port)
        running = await start(settings, redis)
        await bot_api.wait_call("getUpdates")
        await healthz(port)
        yield running, f"http://127.0.0.1:{port}{webhook_path(OA_SECRET)}", port, bot_api
        await running.stop()


async def healthz(port: int) -> dict[str, str]:
    """/healthz once the server answers."""
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    return dict(await response.json())
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise AssertionError("no /healthz")


async def test_a_refused_refresh_is_told_to_admins_logged_and_in_healthz(
        oa: ZaloOaStandin, live: tuple[Running, str, int, ZaloBotStandin],
        caplog: pytest.LogCaptureFixture) -> None:
    running, url, port, bot_api = live
    await make_member(running.deps, channel="zalo", user_id="admin-zalo", unit="khoi",
                      grants=((Role.ADMIN, "khoi"),))
    await make_member(running.deps, channel="zalo_oa", user_id=USER, unit="cb-a1")
    oa.expire_access_token()
    oa.refresh_token = "revoked-by-zalo"  # the stored refresh token no longer works
    with caplog.at_level(logging.ERROR, logger="dvbot.zalo_oa"):
        assert await oa.post_event(url, oa.event(USER, "/me")) == 200
        [notice] = await bot_api.wait_sent("admin-zalo", timeout=10)
    assert "Zalo OA ngừng gửi được tin" in notice.text
    assert any("cannot be refreshed" in r.getMessage() for r in caplog.records)
    health = await healthz(port)
    assert health["status"] == "degraded" and "token refresh failed" in health["zalo_oa"]


async def test_stickers_files_locations_and_voice_get_a_polite_answer(
        oa: ZaloOaStandin, live: tuple[Running, str, int, ZaloBotStandin]) -> None:
    running, url, _port, _bot = live
    await make_member(running.deps, channel="zalo_oa", user_id=USER, unit="cb-a1")
    kinds = [("user_send_sticker", {"type": "sticker", "payload": {"id": "s1", "url": "u"}}),
             ("user_send_file", {"type": "file", "payload": {"url": "u", "name": "a.pdf"}}),
             ("user_send_location", {"type": "location", "payload": {
                 "coordinates": {"latitude": "21.0", "longitude": "105.8"}}}),
             ("user_send_audio", {"type": "audio", "payload": {"url": "u"}})]
    for name, attachment in kinds:
        assert await oa.post_event(url, oa.event(USER, name=name, attachment=attachment)) == 200
        [answer] = await oa.wait_sent(USER)
        assert answer.text == UNREADABLE


async def test_interactions_are_recorded_and_missed_notices_offered(
        oa: ZaloOaStandin, live: tuple[Running, str, int, ZaloBotStandin]) -> None:
    running, url, _port, _bot = live
    deps = running.deps
    member = await make_member(deps, channel="zalo_oa", user_id=USER, unit="cb-a1")
    from bot.delivery.models import Recipient
    notice = Reply("THÔNG BÁO — Họp chi bộ sáng thứ Hai.")
    # Nobody wrote for 8 days: unreachable now, kept for later.
    await deps.broadcasts.reach.interacted("zalo_oa", USER, time.time() - 8 * 86_400)
    facts = await deps.broadcasts.reach.facts([member], deps.clock())
    from bot.delivery.reach import route
    found = route(member, facts)
    assert (found.channel, found.reason) == (None, "zalo_window_closed")
    await deps.outbox.enqueue("bc-77", [Recipient(member.id, None, "", "", reason=found.reason)],
                              [notice])
    await deps.outbox.enqueue("sv-5.rm-1", [Recipient(member.id, None, "", "",
                                                      reason=found.reason)],
                              [Reply("Nhắc khảo sát")], sealed=True)  # never kept: anonymity
    event = oa.event(USER, "/help")
    assert await oa.post_event(url, event) == 200
    _help, offer = await oa.wait_sent(USER, 2)
    assert "Đồng chí có 1 thông báo chưa đọc" in offer.text and "/chuadoc" in offer.text
    assert await deps.broadcasts.reach.last("zalo_oa", USER) == int(event["timestamp"]) / 1000
    assert await oa.post_event(url, oa.event(USER, "/chuadoc")) == 200
    [missed] = await oa.wait_sent(USER)
    assert "Họp chi bộ sáng thứ Hai" in missed.text
    assert await deps.outbox.pending(member.id) == []


async def test_the_domain_verification_file_is_served_at_the_root(
        live: tuple[Running, str, int, ZaloBotStandin]) -> None:
    _running, _url, port, _bot = live
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/zalo_verifierAbC123.html") as response:
            assert response.status == 200
            assert 'content="AbC123"' in await response.text()
        async with session.get(f"http://127.0.0.1:{port}/zalo_verifierOther.html") as response:
            assert response.status == 404


async def test_a_webhook_that_keeps_failing_is_counted(
        oa: ZaloOaStandin, live: tuple[Running, str, int, ZaloBotStandin]) -> None:
    _running, url, port, _bot = live
    # Zalo re-sends what was refused; here the OA's secret key changed and dvbot's did not.
    assert await oa.deliver(url, oa.event(USER, "/me"), attempts=3, secret="other-key") == 401
    assert oa.webhook_failures == 3
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{port}/metrics") as response:
        page = await response.text()
    assert 'dvbot_webhook_refused_total{channel="zalo_oa",status="401"} 3.0' in page


def test_the_webhook_watch_warns_long_before_zalo_disables_it(
        deps: Deps, caplog: pytest.LogCaptureFixture) -> None:
    from bot.channels.zalo_watch import WebhookWatch
    now = [0.0]
    watch = WebhookWatch("zalo_oa", deps.metrics, clock=lambda: now[0])
    with caplog.at_level(logging.ERROR, logger="dvbot.zalo"):
        for _ in range(6):
            watch.answered(503)
            now[0] += 130
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "12 hours" in errors[0]
    watch.answered(200)
    page = deps.metrics.render().decode()
    assert 'dvbot_webhook_failing_seconds{channel="zalo_oa"} 0.0' in page


# --- photos ---------------------------------------------------------------------------------
async def test_webp_and_large_photos_are_uploaded_as_jpeg_of_at_most_1_mb(
        oa: ZaloOaStandin, deps: Deps, tmp_path: Path) -> None:
    webp = tmp_path / "anh.webp"
    Image.effect_noise((900, 700), 90).convert("RGB").save(webp, "WEBP", quality=100)
    huge = tmp_path / "lon.png"
    Image.effect_noise((1400, 1100), 120).convert("RGB").save(huge, "PNG")
    assert huge.stat().st_size > 1024 * 1024
    async with aiohttp.ClientSession() as session:
        sender = ZaloOaSender(await client_for(oa, deps, session), deps.conversations)
        for path in (webp, huge):
            result = await sender.deliver(USER, Reply("", photo=Attachment(path, path.name,
                                                                           "Ảnh")))
            assert result.status is Status.SENT
            [sent] = await oa.wait_sent(USER)
            data = oa.uploads[str(sent.attachment_id)]
            assert data.startswith(b"\xff\xd8\xff") and len(data) <= 1024 * 1024
            assert Image.open(io.BytesIO(data)).format == "JPEG"


# --- replays of signed events ----------------------------------------------------------------
async def test_old_and_replayed_signed_events_are_refused(oa: ZaloOaStandin, deps: Deps,
                                                          dispatcher: Dispatcher) -> None:
    now = [time.time()]
    async with aiohttp.ClientSession() as session:
        client = await client_for(oa, deps, session)
        channel = ZaloOaChannel(client, dispatcher, app_id=APP_ID, secret_key=OA_SECRET,
                                clock=lambda: now[0])
        app = aiohttp.web.Application()
        channel.add_routes(app)
        runner, base = await serve(app)
        stop = asyncio.Event()
        inbox = asyncio.create_task(channel.inbox.run(stop))
        try:
            await make_member(deps, channel="zalo_oa", user_id=USER, unit="cb-a1")
            url = f"{base}{webhook_path(OA_SECRET)}"
            old = oa.event(USER, "/me", timestamp=now[0] - 30 * 86_400)  # signed, 30 days old
            assert await oa.post_event(url, old) == 200
            captured = oa.event(USER, "/me", msg_id="captured-1")
            raw = json.dumps(captured).encode()
            assert await oa.post_raw(url, raw, oa.sign(raw, captured)) == 200
            [first] = await oa.wait_sent(USER)
            assert "Thông tin của tôi" in first.text
            # A day later the seen-marker has expired; the same bytes are posted again.
            await deps.redis.delete(deps.keys.seen_update("zalo_oa", "captured-1"))
            now[0] += 25 * 3600
            assert await oa.post_raw(url, raw, oa.sign(raw, captured)) == 200
            await asyncio.sleep(0.3)
            assert oa.sent == []  # neither the old event nor the replay was handled
        finally:
            stop.set()
            await inbox
            await runner.cleanup()
