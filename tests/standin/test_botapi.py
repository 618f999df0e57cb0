"""Tests of the Bot API stand-in, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from .botapi import BotApiStandin

TOKEN = "123:ABC"
USERNAME = "dvbot_test_bot"
CHAT = 4242


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.upper(), callback_data=d) for d in data]])


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandin]:
    async with BotApiStandin(token=TOKEN, username=USERNAME) as s:
        yield s


@pytest.fixture
async def bot(standin: BotApiStandin) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=standin.api_base, base_file_url=standin.file_base) as b:
        yield b


async def test_get_me(bot: Bot, standin: BotApiStandin) -> None:
    me = await bot.get_me()
    assert (me.username, me.id, me.is_bot, me.first_name) == (USERNAME, 123, True, "dvbot test")
    assert standin.url.startswith("http://127.0.0.1:")
    assert standin.calls_of("getMe")


async def test_wrong_token_is_unauthorized(standin: BotApiStandin) -> None:
    with pytest.raises(InvalidToken):
        await Bot("999:WRONG", base_url=standin.api_base).initialize()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{standin.api_base}999:WRONG/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {
                "ok": False, "error_code": 401, "description": "Unauthorized"
            }
        async with http.post(f"{standin.api_base}{TOKEN}/noSuchMethod", json={}) as resp:
            assert resp.status == 404
            assert (await resp.json())["description"] == "Not Found: method not found"


async def test_unknown_method_via_ptb(bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


async def test_json_body_is_accepted(standin: BotApiStandin) -> None:
    body = {"chat_id": CHAT, "text": "42", "reply_markup": {"inline_keyboard": [[
        {"text": "A", "callback_data": "a"}]]}}
    url = f"{standin.api_base}{TOKEN}/sendMessage"
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as resp:
        result = (await resp.json())["result"]
    assert result["text"] == "42"  # stays a string
    assert result["chat"] == {"id": CHAT, "type": "private", "first_name": "Test"}
    assert standin.buttons(standin.last_to(CHAT)) == [[("A", "a")]]


async def test_send_message_with_keyboard_is_recorded(bot: Bot, standin: BotApiStandin) -> None:
    first = await bot.send_message(CHAT, "Chào bạn", reply_markup=keyboard("yes", "no"),
                                   parse_mode="HTML")
    second = await bot.send_message(CHAT, "123")
    assert (first.message_id, second.message_id) == (1, 2)
    assert first.reply_markup == keyboard("yes", "no")
    assert first.from_user is not None and first.from_user.username == USERNAME
    call = standin.calls_of("sendMessage")[0]
    assert call.params["chat_id"] == CHAT and call.params["text"] == "Chào bạn"
    msg = standin.messages_to(CHAT)[0]
    assert (msg.text, msg.parse_mode, msg.method) == ("Chào bạn", "HTML", "sendMessage")
    assert standin.buttons(msg) == [[("YES", "yes"), ("NO", "no")]]
    assert standin.last_to(CHAT).text == "123"
    with pytest.raises(LookupError):
        standin.last_to(999)


async def test_edit_message_text(bot: Bot, standin: BotApiStandin) -> None:
    sent = await bot.send_message(CHAT, "Câu hỏi 1", reply_markup=keyboard("a", "b"))
    edited = await bot.edit_message_text("Câu hỏi 2", CHAT, sent.message_id,
                                         reply_markup=keyboard("c"))
    assert isinstance(edited, type(sent)) and edited.text == "Câu hỏi 2"
    msg = standin.last_to(CHAT)
    assert msg.text == "Câu hỏi 2" and standin.buttons(msg) == [[("C", "c")]]
    assert [e.method for e in standin.edited] == ["editMessageText"]
    await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=None)
    assert standin.last_to(CHAT).reply_markup is None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Câu hỏi 2", CHAT, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", CHAT, 999)


async def test_text_validation(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(CHAT, "")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "ạ" * 4097)
    await bot.send_message(CHAT, "ạ" * 4096)


async def test_oversized_callback_data(bot: Bot, standin: BotApiStandin) -> None:
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "x", reply_markup=keyboard("đ" * 33))  # 66 bytes
    assert standin.sent == []
    assert standin.calls_of("sendMessage")[0].status == 400


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_retry_after_injected(bot: Bot, standin: BotApiStandin) -> None:
    standin.fail_next("sendMessage")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(CHAT, "hi")
    retry_after = info.value.retry_after  # int, or timedelta with PTB_TIMEDELTA=true
    assert retry_after in (1, dtm.timedelta(seconds=1))
    assert len(standin.failures) == 1 and standin.sent == []
    await bot.send_message(CHAT, "hi")  # only the next call failed
    standin.fail_next("sendMessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match=r"(?i)Internal Server Error"):
            await bot.send_message(CHAT, "hi")
    assert len(standin.failures) == 3 and len(standin.sent) == 1


async def test_blocked_chat_is_forbidden(bot: Bot, standin: BotApiStandin) -> None:
    standin.blocked_chats.add(CHAT)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(CHAT, "hi")


async def test_commands_round_trip(bot: Bot, standin: BotApiStandin) -> None:
    await bot.set_my_commands([BotCommand("start", "Bắt đầu"), BotCommand("help", "Trợ giúp")])
    assert standin.commands == [{"command": "start", "description": "Bắt đầu"},
                                {"command": "help", "description": "Trợ giúp"}]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Start", "x")])
    await bot.delete_my_commands()
    assert standin.commands == []


async def test_documents_and_files(bot: Bot, standin: BotApiStandin) -> None:
    sent = await bot.send_document(CHAT, document=b"%PDF-1.4 hello", filename="bao-cao.pdf",
                                   caption="Báo cáo")
    assert sent.document is not None and sent.document.file_name == "bao-cao.pdf"
    msg = standin.last_to(CHAT)
    assert msg.document is not None and msg.text == "Báo cáo"
    assert (msg.document.file_name, msg.document.mime_type, msg.document.file_size) == (
        "bao-cao.pdf", "application/pdf", 14)
    photo = await bot.send_photo(CHAT, photo=b"\xff\xd8jpeg")
    assert photo.photo and standin.last_to(CHAT).photo is not None
    # a user's upload can be fetched via getFile + download
    update = standin.make_document_update(7, "de-xuat.docx", "application/msword",
                                          content=b"noi dung")
    file = await bot.get_file(update["message"]["document"]["file_id"])
    assert bytes(await file.download_as_bytearray()) == b"noi dung"
    big = standin.make_document_update(7, "big.zip", "application/zip", 30 * 1024 * 1024)
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(big["message"]["document"]["file_id"])


async def test_webhook_and_get_updates(bot: Bot, standin: BotApiStandin) -> None:
    await bot.set_webhook("https://example.test/hook", secret_token="s3cret")
    assert (await bot.get_webhook_info()).url == "https://example.test/hook"
    with pytest.raises(Conflict):
        await bot.get_updates()
    await bot.delete_webhook()
    first = standin.user_sends(5, "/start abc", username="nguoidan")
    second = standin.user_sends(5, "xin chào")
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first, second] == [1000, 1001]
    assert updates[0].message is not None and updates[0].message.text == "/start abc"
    assert updates[0].message.entities[0].length == len("/start")
    assert updates[0].message.from_user.username == "nguoidan"  # type: ignore[union-attr]
    assert len(await bot.get_updates(offset=second, timeout=0)) == 1  # first one confirmed
    assert standin.updates == [standin.updates[0]] and standin.updates[0]["update_id"] == second


async def test_long_poll_wakes_on_new_update(bot: Bot, standin: BotApiStandin) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await standin.wait_call("getUpdates")
    standin.user_sends_photo(9, caption="ảnh")
    updates = await asyncio.wait_for(poll, 2)
    assert updates[0].message is not None and updates[0].message.photo
    confirmed = updates[0].update_id + 1
    assert await bot.get_updates(offset=confirmed, timeout=dtm.timedelta(seconds=0.2)) == ()


async def test_wait_helpers_timeout_message(standin: BotApiStandin) -> None:
    with pytest.raises(TimeoutError, match=r"(?i)chat 1"):
        await standin.wait_sent(1, 1, timeout=0.05)


async def test_application_polling_echo_and_callback(standin: BotApiStandin) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"start {context.args}")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"echo: {update.effective_message.text}", reply_markup=keyboard("ok"))

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Đã nhận")
        await query.edit_message_text(f"pressed {query.data}")

    app = Application.builder().token(TOKEN).base_url(standin.api_base).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        standin.user_sends(777, "/start x")
        standin.user_sends(777, "xin chào")
        started, reply = await standin.wait_sent(777, 2)
        assert started.text == "start ['x']"
        assert reply.text == "echo: xin chào"
        assert standin.buttons(reply) == [[("OK", "ok")]]

        standin.user_presses(777, reply, "ok")
        answer = await standin.wait_call("answerCallbackQuery")
        assert answer.params["text"] == "Đã nhận"
        [edit] = await standin.wait_sent(777, 1)
        assert (edit.method, edit.text, edit.message_id) == (
            "editMessageText", "pressed ok", reply.message_id)
        await standin.wait_for(lambda: not standin.updates, what="updates confirmed")
        assert answer.status == 200
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


# ------------------------------------------------------- rate limits and random faults
async def test_rate_enforcement_answers_429_above_the_rate(bot: Bot,
                                                           standin: BotApiStandin) -> None:
    standin.enforce_rate(10, burst=3)
    results = []
    for n in range(6):
        try:
            await bot.send_message(100 + n, "x")
            results.append("ok")
        except RetryAfter as exc:
            results.append(f"429:{exc.retry_after}")
    assert results[:3] == ["ok", "ok", "ok"]  # the burst
    assert "429:1" in results[3:]
    assert len(standin.rate_limited) == results.count("429:1")
    await asyncio.sleep(0.35)  # three more tokens
    for n in range(3):
        await bot.send_message(200 + n, "y")


async def test_per_chat_enforcement(bot: Bot, standin: BotApiStandin) -> None:
    standin.enforce_rate(1000, per_chat_seconds=0.3)
    await bot.send_message(CHAT, "một")
    await bot.send_message(CHAT + 1, "khác")
    with pytest.raises(RetryAfter):
        await bot.send_message(CHAT, "hai")
    await asyncio.sleep(0.3)
    await bot.send_message(CHAT, "ba")
    assert [m.text for m in standin.messages_to(CHAT)] == ["một", "ba"]


async def test_random_faults_are_reproducible_and_deliver_nothing(bot: Bot,
                                                                  standin: BotApiStandin
                                                                  ) -> None:
    standin.inject_random_faults(p429=0.2, p5xx=0.2, retry_after=2, seed=7)
    outcomes = []
    for n in range(40):
        try:
            await bot.send_message(300 + n, "z")
            outcomes.append("ok")
        except RetryAfter as exc:
            outcomes.append(f"429:{exc.retry_after}")
        except NetworkError:
            outcomes.append("5xx")
    assert {"ok", "429:2", "5xx"} == set(outcomes)
    assert len(standin.failures) == 40 - outcomes.count("ok") == len(standin.calls) - \
        outcomes.count("ok") - 1  # getMe
    assert len(standin.sent) == outcomes.count("ok")
