"""End to end over real HTTP: `bot.app.run_bot` in webhook mode (aiohttp server + stand-in)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.channels.webhook import SECRET_HEADER, telegram_path
from tests.channels.conftest import LiveBot, text

ALICE, BOB = 2001, 2002


class Hook:
    """Posts to the running bot's webhook endpoint."""

    def __init__(self, bot: LiveBot, http: aiohttp.ClientSession) -> None:
        self.bot = bot
        self.http = http
        settings = bot.settings
        assert settings.webhook_secret is not None
        self.secret = settings.webhook_secret.get_secret_value()
        self.base = f"http://{settings.http_host}:{settings.http_port}"
        self.url = self.base + telegram_path(self.secret)

    async def post(self, update: Any, *, secret: str | None = "right",
                   path: str | None = None) -> tuple[int, Any]:
        """POST an update; `secret` is "right", None (no header) or a literal wrong value."""
        headers = {}
        if secret is not None:
            headers[SECRET_HEADER] = self.secret if secret == "right" else secret
        kwargs: dict[str, Any] = {"data": update} if isinstance(update, str | bytes) \
            else {"json": update}
        async with self.http.post(self.base + path if path else self.url, headers=headers,
                                  **kwargs) as resp:
            body = await resp.json() if resp.content_type == "application/json" else None
            return resp.status, body


@pytest.fixture
async def hook(webhook_bot: LiveBot) -> AsyncIterator[Hook]:
    async with aiohttp.ClientSession() as http:
        yield Hook(webhook_bot, http)


async def test_set_webhook_with_derived_path_and_secret(hook: Hook) -> None:
    standin = hook.bot.standin
    path = telegram_path(hook.secret)
    assert path.startswith("/telegram/") and hook.secret not in path
    assert standin.webhook_url == f"https://bot.example.org{path}"
    assert standin.webhook_secret == hook.secret
    [call] = standin.calls_of("setWebhook")
    assert call.params["allowed_updates"] == ["message", "callback_query"]
    assert standin.calls_of("getUpdates") == []  # no polling in webhook mode
    assert standin.calls_of("setMyCommands")


async def test_missing_or_wrong_secret_is_401_and_not_handled(hook: Hook) -> None:
    standin = hook.bot.standin
    status, _ = await hook.post(standin.make_message_update(ALICE, "/help"), secret=None)
    assert status == 401
    status, _ = await hook.post(standin.make_message_update(ALICE, "/help"),
                                secret="x" * len(hook.secret))
    assert status == 401
    status, _ = await hook.post(standin.make_message_update(ALICE, "/help"),
                                secret=hook.secret + "x")
    assert status == 401

    # Updates are handled in order: once this reply is in, the rejected ones would have been.
    good = standin.make_message_update(ALICE, "/start")
    status, _ = await hook.post(good)
    assert status == 200
    [reply] = await standin.wait_sent(ALICE)
    assert "Kính chào đồng chí" in text(reply)
    assert len(standin.calls_of("sendMessage")) == 1
    # Rejected calls never reached the once-only marker either.
    assert await hook.bot.deps.redis.keys("dv:seen:*") == [
        f"dv:seen:telegram:{good['update_id']}"]


async def test_right_secret_is_handled(hook: Hook) -> None:
    standin = hook.bot.standin
    status, body = await hook.post(standin.make_message_update(ALICE, "/help"))
    assert (status, body) == (200, {"ok": True})
    [reply] = await standin.wait_sent(ALICE)
    assert "Hướng dẫn sử dụng" in text(reply)
    assert "mã mời" in text(reply)


async def test_onboarding_and_button_press_through_the_webhook(hook: Hook) -> None:
    standin, bot = hook.bot.standin, hook.bot
    invite = await bot.invite("cb-a2")
    await hook.post(standin.make_message_update(BOB, f"/start {invite.code}"))
    [ask] = await standin.wait_sent(BOB)
    assert "Xin đồng chí cho biết" in text(ask) and "Chi bộ A2" in text(ask)

    await hook.post(standin.make_message_update(BOB, "Đỗ Thị Giang"))
    [welcome] = await standin.wait_sent(BOB)
    assert "Chào mừng đồng chí <b>Đỗ Thị Giang</b>" in text(welcome)

    await hook.post(standin.make_callback_update(BOB, welcome, "me"))
    [profile] = await standin.wait_sent(BOB)
    assert profile.method == "editMessageText" and profile.message_id == welcome.message_id
    assert "Họ và tên: Đỗ Thị Giang" in text(profile)
    assert [c.status for c in standin.calls_of("answerCallbackQuery")] == [200]


async def test_redelivered_update_is_handled_once(hook: Hook) -> None:
    standin = hook.bot.standin
    update = standin.make_message_update(ALICE, "/help")
    assert await hook.post(update) == (200, {"ok": True})
    assert await hook.post(update) == (200, {"ok": True, "duplicate": True})

    # Barrier: the next update's reply comes after any reply to a duplicate would have.
    assert (await hook.post(standin.make_message_update(ALICE, "/abcxyz")))[0] == 200
    first, second = await standin.wait_sent(ALICE, 2)
    assert "Hướng dẫn sử dụng" in text(first)
    assert "Không có lệnh /abcxyz" in text(second)
    assert len(standin.messages_to(ALICE)) == 2


async def test_invalid_json_is_400(hook: Hook) -> None:
    status, body = await hook.post("{not json")
    assert (status, body) == (400, {"ok": False, "error": "bad update"})
    status, _ = await hook.post({"message": {"text": "no update_id"}})
    assert status == 400
    status, _ = await hook.post({"update_id": "abc"})
    assert status == 400
    assert hook.bot.running()


async def test_malformed_update_does_not_burn_its_id(hook: Hook) -> None:
    """Regression: a body that was JSON but not an Update was marked seen, then answered 500."""
    status, _ = await hook.post({"update_id": 5, "message": "oops"})
    assert status == 400
    keys = hook.bot.deps.keys
    assert not await hook.bot.deps.redis.exists(keys.seen_update("telegram", "5"))


async def test_healthz(hook: Hook) -> None:
    async with hook.http.get(hook.base + "/healthz") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["status"] == "ok"
    assert body == {"status": "ok", "redis": "ok"}


async def test_wrong_path_is_404(hook: Hook) -> None:
    standin = hook.bot.standin
    update = standin.make_message_update(ALICE, "/help")
    for path in ("/telegram/" + "0" * 32, "/telegram", "/" + hook.secret):
        status, _ = await hook.post(update, path=path)
        assert status == 404, path
    async with hook.http.get(hook.url) as resp:
        assert resp.status == 405  # the right path only takes POST
    assert standin.calls_of("sendMessage") == []


async def test_updates_dvbot_does_not_act_on_are_taken_and_ignored(hook: Hook) -> None:
    standin = hook.bot.standin
    edited = standin.make_message_update(ALICE, "/menu")
    edited["edited_message"] = edited.pop("message")
    group = standin.make_message_update(ALICE, "/menu")
    group["message"]["chat"] = {"id": -4242, "type": "group", "title": "Chi bộ A1"}
    user = {"id": ALICE, "is_bot": False, "first_name": "Test"}
    blocked = {"update_id": 88_001, "my_chat_member": {
        "chat": {"id": ALICE, "type": "private", "first_name": "Test"}, "from": user,
        "date": 1_732_500_000, "old_chat_member": {"user": standin.bot_user, "status": "member"},
        "new_chat_member": {"user": standin.bot_user, "status": "kicked", "until_date": 0}}}
    future = {"update_id": 88_002, "guest_visit": {"from": user, "date": 1_732_500_000}}
    for update in (edited, group, blocked, future):
        assert await hook.post(update) == (200, {"ok": True}), update
        # Taken once like any other: a redelivery is recognised.
        assert await hook.post(update) == (200, {"ok": True, "duplicate": True}), update

    assert (await hook.post(standin.make_message_update(ALICE, "/help")))[0] == 200
    [reply] = await standin.wait_sent(ALICE)  # barrier: the only reply
    assert "Hướng dẫn sử dụng" in text(reply)
    assert len(standin.calls_of("sendMessage")) == 1
