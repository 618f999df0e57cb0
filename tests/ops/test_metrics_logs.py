"""/healthz and /metrics in both modes, metered senders and limiter, JSON logs with request ids."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.channels.zalo_bot import ZaloBotChannel, ZaloBotClient
from bot.channels.zalo_wiring import limiter as zalo_limiter
from bot.delivery.sender import BLOCKED, SendResult
from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.engine.errors import handle_safely
from bot.engine.messages import Incoming, Reply
from bot.ops.logs import JsonFormatter, RedactSecrets, RequestId, TextFormatter
from bot.ops.metrics import MeteredRateLimiter, Metrics
from bot.org.models import Role
from bot.storage.keys import Keys
from bot.storage.unlocks import Unlocks
from tests.channels.conftest import LiveBot, _live, live_settings
from tests.channels.zalo_live import ZALO_TOKEN
from tests.conftest import free_port, make_member
from tests.standin.botapi import BotApiStandin
from tests.standin.zalo_bot import ZaloBotStandin, error


def sample(text: str, name: str) -> float:
    """The value of one sample line `name` (with labels) in a Prometheus text page."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in\n{text}")


@pytest.fixture(params=["polling", "webhook"])
async def bot(request: pytest.FixtureRequest, standin: BotApiStandin, redis: Redis,
              valkey_url: str, tmp_path: Path) -> AsyncIterator[LiveBot]:
    """run_bot in either mode with its HTTP port on a free local port."""
    extra = {} if request.param == "polling" else {
        "webhook_url": "https://bot.example.org", "webhook_secret": secrets.token_urlsafe(24)}
    settings = live_settings(standin, valkey_url, tmp_path / "data", http_host="127.0.0.1",
                             http_port=free_port(), **extra)
    async for live in _live(standin, settings, redis):
        yield live


async def test_health_and_metrics_in_both_modes(bot: LiveBot) -> None:
    await bot.register(3001, grants=((Role.CADRE, "cb-a1"),))
    base = f"http://127.0.0.1:{bot.settings.http_port}"
    async with aiohttp.ClientSession() as http:
        if bot.webhook:
            from tests.channels.test_webhook import Hook
            hook = Hook(bot, http)
            status, _ = await hook.post(bot.standin.make_message_update(3001, "/menu"))
            assert status == 200
            await bot.standin.wait_sent(3001, 1)
        else:
            await bot.send(3001, "/menu")
        async with http.get(base + "/healthz") as resp:
            assert resp.status == 200
            assert (await resp.json())["redis"] == "ok"
        await bot.deps.outbox.schedule("bc-9", bot.deps.clock().replace(year=2099))
        async with http.get(base + "/metrics") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            page = await resp.text()
    assert sample(page, 'dvbot_updates_handled_total{channel="telegram",outcome="ok"}') == 1
    assert sample(page, 'dvbot_handler_latency_seconds_count{channel="telegram"}') == 1
    assert sample(page, 'dvbot_queue_length{channel="",queue="scheduled"}') == 1
    assert sample(page, 'dvbot_queue_length{channel="telegram",queue="deliveries"}') == 0
    assert sample(page, 'dvbot_replies_sent_total{channel="telegram"}') >= 1
    # Served from this process's dialog store (the release may still be on its way).
    released = sample(page, "dvbot_lock_releases_total")
    assert 0 <= sample(page, "dvbot_lock_release_batches_total") <= released
    assert bot.standin.token not in page


async def test_direct_replies_failing_are_counted_by_reason(bot: LiveBot) -> None:
    await bot.register(3002)
    bot.standin.blocked_chats.add(3002)
    update = bot.standin.make_message_update(3002, "/menu")
    base = f"http://127.0.0.1:{bot.settings.http_port}"
    name = 'dvbot_replies_failed_total{channel="telegram",reason="blocked"}'
    async with aiohttp.ClientSession() as http:
        if bot.webhook:
            from tests.channels.test_webhook import Hook
            status, _ = await Hook(bot, http).post(update)
            assert status == 200
        else:
            bot.standin.queue_update(update)
        for _ in range(100):
            async with http.get(base + "/metrics") as resp:
                page = await resp.text()
            if name in page:
                break
            await asyncio.sleep(0.05)
    assert sample(page, name) == 1
    assert 'dvbot_replies_sent_total{channel="telegram"}' not in page


async def test_lock_release_batching_is_counted(redis: Redis) -> None:
    metrics, unlocks = Metrics(), Unlocks(redis)
    assert "dvbot_lock_releases" not in metrics.render().decode()  # no source yet
    metrics.count_unlocks(unlocks)
    locks = [f"dv:lock:probe:{n}" for n in range(5)]
    for lock in locks:
        await redis.set(lock, "token")
    for lock in locks:  # released together: one batch, one round trip
        unlocks.release(lock, "token")
    await unlocks.settle()
    unlocks.release(locks[0], "token")  # alone: a batch of one
    await unlocks.settle()
    page = metrics.render().decode()
    assert sample(page, "dvbot_lock_releases_total") == 6
    assert sample(page, "dvbot_lock_release_batches_total") == 2
    assert await redis.exists(*locks) == 0


async def test_zalo_limiters_are_metered(deps: Deps) -> None:
    shared = zalo_limiter(deps, "zalo:77", 1.0)
    await shared.reserve("u1")
    assert (await shared.reserve("u1")).wait > 0
    page = deps.metrics.render().decode()
    assert sample(page, 'dvbot_ratelimit_waits_total{limiter="zalo:77"}') == 1


def test_send_results_are_counted_by_reason() -> None:
    metrics = Metrics()
    metrics.result("telegram", SendResult.sent())
    metrics.result("telegram", SendResult.final(BLOCKED))
    metrics.result("telegram", SendResult.retry_after(3))
    page = metrics.render().decode()
    assert sample(page, 'dvbot_messages_sent_total{channel="telegram"}') == 1
    assert sample(page, 'dvbot_messages_failed_total{channel="telegram",reason="blocked"}') == 1
    assert sample(page,
                  'dvbot_messages_failed_total{channel="telegram",reason="retry_after"}') == 1


async def test_rate_limiter_waits_are_counted(redis: Redis) -> None:
    metrics = Metrics()
    limiter = MeteredRateLimiter(redis, Keys("dv"), "telegram:1", metrics=metrics, rate=1.0)
    first = await limiter.reserve("42")
    second = await limiter.reserve("42")  # same chat within a second: must wait
    assert first.wait == 0 and second.wait > 0
    page = metrics.render().decode()
    assert sample(page, 'dvbot_ratelimit_waits_total{limiter="telegram:1"}') == 1
    assert sample(page, 'dvbot_ratelimit_wait_seconds_total{limiter="telegram:1"}') \
        == pytest.approx(second.wait)


@pytest.fixture
def json_log() -> AsyncIterator[io.StringIO]:
    """The root logger writing JSON lines (token scrubbed) into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets(["5550123:AAHs3cr3t-Token"]))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield buffer  # type: ignore[misc]
    root.removeHandler(handler)
    root.setLevel(old_level)


async def test_json_logs_carry_a_request_id_per_update(dispatcher: Dispatcher,
                                                       json_log: io.StringIO) -> None:
    await make_member(dispatcher.deps, user_id="77", unit="cb-a1")
    for _ in range(2):  # a forged button payload is logged while the update is handled
        await handle_safely(dispatcher, Incoming(channel="telegram", user_id="77",
                                                 chat_id="77", action="\x00forged"))
    logging.getLogger("dvbot.test").info("outside any update")
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    refused = [e for e in lines if "garbled button" in e["message"]]
    assert len(refused) == 2
    ids = {e["request_id"] for e in refused}
    assert len(ids) == 2 and all(len(i) == 12 for i in ids)  # one fresh id per update
    outside = next(e for e in lines if e["message"] == "outside any update")
    assert "request_id" not in outside
    assert {"time", "level", "logger"} <= outside.keys()
    assert dispatcher.deps.metrics.updates.labels("telegram", "ok")._value.get() == 2


def test_json_and_text_logs_never_show_the_token(json_log: io.StringIO) -> None:
    log = logging.getLogger("dvbot.test")
    try:
        raise RuntimeError("POST https://api.telegram.org/bot5550123:AAHs3cr3t-Token/x failed")
    except RuntimeError:
        log.exception("call to %s failed", "bot5550123:AAHs3cr3t-Token")
    [entry] = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert "AAHs3cr3t" not in json.dumps(entry)
    assert "***" in entry["message"] and "***" in entry["exc"]
    record = logging.LogRecord("dvbot", logging.INFO, __file__, 1, "hello", None, None)
    token = RequestId.new()
    try:
        assert TextFormatter().format(record).endswith(f"[req={RequestId.var.get()}]")
    finally:
        RequestId.reset(token)
    assert "[req=" not in TextFormatter().format(record)


async def test_zalo_direct_replies_are_counted(dispatcher: Dispatcher) -> None:
    async with ZaloBotStandin(ZALO_TOKEN) as standin, aiohttp.ClientSession() as http:
        client = ZaloBotClient(http, ZALO_TOKEN, standin.url)
        channel = ZaloBotChannel(client, dispatcher)
        await channel.send("u-1", [Reply("Chào đồng chí"), Reply("Mời chọn")])
        standin.fail_next.append(error(400, "Bad request: chat_id is invalid"))
        await channel.send("u-2", [Reply("Chào đồng chí")])
    page = dispatcher.deps.metrics.render().decode()
    assert sample(page, 'dvbot_replies_sent_total{channel="zalo"}') == 2
    assert sample(page, 'dvbot_replies_failed_total{channel="zalo",reason="chat_not_found"}') \
        == 1
