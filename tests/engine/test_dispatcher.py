"""Dispatcher: routing, numbered options, bad input, per-account lock, dialog TTL."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.deps import Deps
from bot.engine.conversation import Dialog
from bot.engine.dispatcher import MAX_TEXT, Dispatcher
from bot.engine.messages import FileRef, Incoming, Reply
from bot.engine.router import Outcome, Request, Router
from bot.org.models import Role
from tests.conftest import make_member
from tests.handlers.chat import Chat


async def test_numbers_map_to_the_buttons_on_screen(dispatcher: Dispatcher, deps: Deps) -> None:
    await make_member(deps, channel="console", user_id="u", unit="cb-a1",
                      grants=((Role.CADRE, "dbcs-a"),))
    chat = Chat(dispatcher, "u", channel="console", buttons=False)
    await chat.say("/menu")
    assert chat.labels()[-2:] == ["Tạo mã mời", "Thông tin của tôi"]
    await chat.say(str(len(chat.labels())))
    assert "Thông tin của tôi" in chat.text and "Chi bộ A1" in chat.text
    await chat.say("2")  # the profile's second button: back to the menu
    assert "Menu chính" in chat.text


async def test_out_of_range_number_reshows_the_options(dispatcher: Dispatcher,
                                                       deps: Deps) -> None:
    await make_member(deps, channel="console", user_id="u", unit="cb-a1")
    chat = Chat(dispatcher, "u", channel="console", buttons=False)
    await chat.say("/menu")
    count = len(chat.labels())
    await chat.say(str(count + 1))
    assert f"từ 1 đến {count}" in chat.text
    assert chat.labels()[-1] == "Thông tin của tôi" and len(chat.labels()) == count
    await chat.say(str(count))
    assert "Họ và tên" in chat.text


async def test_a_notice_keeps_the_numbered_options(dispatcher: Dispatcher, deps: Deps) -> None:
    await make_member(deps, channel="console", user_id="u", unit="cb-a1")
    chat = Chat(dispatcher, "u", channel="console", buttons=False)
    await chat.say("/menu")
    profile = str(chat.labels().index("Thông tin của tôi") + 1)
    await chat.say("/khongco")
    assert "Không có lệnh /khongco" in chat.text
    await chat.say(profile)
    assert "Họ và tên" in chat.text


async def test_forged_and_garbled_payloads_are_refused(dispatcher: Dispatcher,
                                                       deps: Deps) -> None:
    await make_member(deps, user_id="u", unit="cb-a1")
    chat = Chat(dispatcher, "u")
    for payload in ["", "zz|??", "x" * 64, "nosuchroute|1", "inv.mk|khoi|admin|1",
                    "inv.u|khoi|0", "inv.mk", "menu|" + "a" * 80]:
        await chat.press_raw(payload)
        assert chat.text, payload
        assert any(w in chat.text for w in ("không hợp lệ", "không có quyền", "thiếu")), payload
    assert await deps.invites.list() == []


async def test_oversized_text_keeps_the_dialog(dispatcher: Dispatcher, deps: Deps) -> None:
    invite = await deps.invites.create(unit="cb-a1", role=Role.MEMBER, created_by="t",
                                       max_uses=1, days=1, now=deps.clock())
    chat = Chat(dispatcher, "u")
    await chat.say(f"/start {invite.code}")
    await chat.say("a" * (MAX_TEXT + 1))
    assert "vượt giới hạn" in chat.text
    await chat.say("Nguyễn Văn An")
    assert "Chào mừng" in chat.text


async def test_unexpected_file_and_empty_message(dispatcher: Dispatcher, deps: Deps) -> None:
    await make_member(deps, user_id="u", unit="cb-a1")
    chat = Chat(dispatcher, "u")
    doc = FileRef("f1", "document", "virus.exe", "application/x-msdownload", 1000)
    await chat.send(Incoming(channel="telegram", user_id="u", chat_id="u", file=doc))
    assert "chưa cần tệp" in chat.text
    await chat.send(Incoming(channel="telegram", user_id="u", chat_id="u"))
    assert "chỉ hiểu tin nhắn chữ" in chat.text


async def test_keywords_work_without_slash(dispatcher: Dispatcher, deps: Deps) -> None:
    await make_member(deps, user_id="u", unit="cb-a1")
    chat = Chat(dispatcher, "u")
    await chat.say("Menu")
    assert "Menu chính" in chat.text
    await chat.say("HUỶ")
    assert "Không có thao tác nào" in chat.text
    await chat.say("/menu@dvbot_test_bot")
    assert "Menu chính" in chat.text


async def test_dialog_state_has_a_ttl(dispatcher: Dispatcher, deps: Deps, redis: Redis) -> None:
    invite = await deps.invites.create(unit="cb-a1", role=Role.MEMBER, created_by="t",
                                       max_uses=1, days=1, now=deps.clock())
    await Chat(dispatcher, "u").say(f"/start {invite.code}")
    ttl = await redis.ttl(deps.keys.dialog("telegram", "u"))
    assert 0 < ttl <= deps.settings.dialog_ttl_hours * 3600


async def test_updates_of_one_account_never_interleave(deps: Deps) -> None:
    """Two updates from one person run one after the other; other people are not blocked."""
    router = Router()
    events: list[str] = []

    async def slow(request: Request) -> Outcome:
        events.append(f"start {request.text}")
        await asyncio.sleep(0.05)
        events.append(f"end {request.text}")
        return Outcome([Reply(request.text)])

    router.set_fallback(slow)
    dispatcher = Dispatcher(router, deps)

    def incoming(user: str, text: str) -> Incoming:
        return Incoming(channel="telegram", user_id=user, chat_id=user, text=text)

    handle = dispatcher.handle
    await asyncio.gather(handle(incoming("a", "1")), handle(incoming("a", "2")))
    assert events in (["start 1", "end 1", "start 2", "end 2"],
                      ["start 2", "end 2", "start 1", "end 1"])
    events.clear()
    await asyncio.gather(handle(incoming("a", "3")), handle(incoming("b", "4")))
    # Different people run side by side: both start before either ends (in either order).
    assert set(events[:2]) == {"start 3", "start 4"}


async def test_unknown_step_is_dropped_not_crashed(dispatcher: Dispatcher, deps: Deps) -> None:
    """A dialog saved by an older version with a step that no longer exists."""
    await make_member(deps, user_id="u", unit="cb-a1")
    await deps.conversations.save_dialog("telegram", "u", Dialog(flow="old", step="old.gone"))
    chat = Chat(dispatcher, "u")
    await chat.say("xin chào")
    assert "chưa hiểu" in chat.text
    assert await deps.conversations.dialog("telegram", "u") is None


async def test_user_text_is_escaped_in_replies(dispatcher: Dispatcher, deps: Deps) -> None:
    await make_member(deps, user_id="u", unit="cb-a1", name="Lê <b>Văn</b> & Tèo")
    chat = Chat(dispatcher, "u")
    await chat.say("/me")
    raw = chat.replies[0].text
    assert "Lê &lt;b&gt;Văn&lt;/b&gt; &amp; Tèo" in raw
    assert "<b>Văn</b>" not in raw
    await chat.say("/<i>x</i>")
    assert "<i>" not in chat.replies[0].text


async def test_dialog_and_options_are_sealed_at_rest(dispatcher: Dispatcher, deps: Deps,
                                                     redis: Redis) -> None:
    """The dialog may hold an anonymous answer in progress, the options which boxes are
    ticked: neither is in the store in clear; state that does not open is dropped."""
    await make_member(deps, user_id="u", unit="cb-a1")
    dialog = Dialog(flow="sv", step="sv.text", data={"sid": "3", "answers": [2, [0, 1]]})
    await deps.conversations.save_dialog("telegram", "u", dialog)
    raw = str(await redis.get(deps.keys.dialog("telegram", "u")))
    assert "answers" not in raw and "sv.text" not in raw
    assert await deps.conversations.dialog("telegram", "u") == dialog
    await redis.set(deps.keys.dialog("telegram", "u"), dialog.model_dump_json())  # unsealed
    assert await deps.conversations.dialog("telegram", "u") is None
    assert await dispatcher.handle(Incoming("telegram", "u", "u", text="/menu"))  # not stuck
