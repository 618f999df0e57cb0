"""Telegram adapter: the only module that imports `telegram`.

Translates PTB updates into neutral `Incoming`s, hands them to the dispatcher, and renders
`Reply`s as HTML messages with inline keyboards. Polling or webhook is chosen by the caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from telegram import (
    Bot,
    BotCommand,
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    PhotoSize,
    Update,
)
from telegram.constants import ChatType, MessageLimit, ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ContextTypes, TypeHandler

from bot import wording
from bot.channels.telegram_processor import PerAccountOrder
from bot.channels.telegram_start import TelegramUnavailable, why
from bot.channels.telegram_transport import AiohttpRequest, JsonData
from bot.delivery.sender import (
    BAD_REQUEST,
    BLOCKED,
    CHAT_NOT_FOUND,
    DEACTIVATED,
    FORBIDDEN,
    SendResult,
)
from bot.engine.dispatcher import Dispatcher
from bot.engine.errors import handle_safely
from bot.engine.messages import Attachment, FileRef, FileUnavailable, Incoming, Reply
from bot.formatting import split_text
from bot.privacy.logid import log_id

log = logging.getLogger("dvbot.telegram")

CHANNEL = "telegram"
ATTEMPTS = 4
T = TypeVar("T")
App = Application[Any, Any, Any, Any, Any, Any]


def build_application(token: str, api_url: str, *, polling: bool) -> App:
    """A PTB Application pointed at `api_url` (official server, self-hosted, or a test stand-in)."""
    builder = (Application.builder().token(token)
               .base_url(f"{api_url}/bot").base_file_url(f"{api_url}/file/bot")
               # aiohttp instead of httpx, ~2.5x the throughput (bench/throughput.py)
               .request(AiohttpRequest()).get_updates_request(AiohttpRequest(pool_size=1))
               # accounts side by side, each account's updates in order
               .concurrent_updates(PerAccountOrder()))
    if not polling:
        builder = builder.updater(None)  # updates arrive through our aiohttp webhook instead
    return builder.build()


def to_incoming(update: Update) -> Incoming | None:
    """The neutral form of an update, or None for what the bot ignores (groups, edits)."""
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or user is None or chat.type != ChatType.PRIVATE:
        return None
    base = Incoming(channel=CHANNEL, user_id=str(user.id), chat_id=str(chat.id),
                    display_name=user.full_name)
    if update.callback_query is not None:
        return replace(base, action=update.callback_query.data or "")
    message = update.message
    if message is None:
        return None
    if message.document is not None:
        doc = message.document
        ref = FileRef(doc.file_id, "document", doc.file_name or "", doc.mime_type or "",
                      doc.file_size or 0, fetch=lambda: _download(doc))
        return replace(base, file=ref, text=message.caption)
    if message.photo:
        photo = message.photo[-1]  # the largest size
        # Downloadable like documents: proposals check their photos really are images.
        ref = FileRef(photo.file_id, "photo", size=photo.file_size or 0,
                      fetch=lambda: _download(photo))
        return replace(base, file=ref, text=message.caption)
    return replace(base, text=message.text)


async def _download(document: Document | PhotoSize) -> bytes:
    """Fetch a document or photo a user sent (getFile refuses files over 20 MB)."""
    try:
        file = await with_retries(document.get_file)
        return bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        raise FileUnavailable(str(exc)) from exc


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Inline keyboard for a reply's buttons."""
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.action) for b in row]
         for row in reply.buttons])


def keyboard_json(reply: Reply) -> dict[str, Any] | None:
    """The same keyboard as the Bot API's JSON, built without PTB objects (the reply path)."""
    if not reply.buttons:
        return None
    return {"inline_keyboard": [[{"text": b.label, "callback_data": b.action} for b in row]
                                for row in reply.buttons]}


def media(attachment: Attachment) -> str | bytes:
    """What to pass to sendPhoto/sendDocument: the file_id of a file already on Telegram, or
    the bytes of a local file."""
    if attachment.file_id:
        return attachment.file_id
    if attachment.path is None:
        raise ValueError(f"attachment {attachment.filename!r} has neither a path nor a file_id")
    return attachment.path.read_bytes()


async def with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """Honour 429 RetryAfter and ride out network blips; final errors propagate."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await call()
        except RetryAfter as exc:
            if attempt == ATTEMPTS:
                raise
            delay = exc.retry_after  # int today, timedelta in a later PTB: both handled
            seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
            log.warning("Telegram asked to slow down: waiting %.1f s", seconds)
            await asyncio.sleep(seconds)
        except (TimedOut, NetworkError) as exc:
            if isinstance(exc, BadRequest) or attempt == ATTEMPTS:
                raise
            await asyncio.sleep(0.5 * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


async def fetch_username(token: str, api_url: str) -> str:
    """The bot's username from getMe, for the invite links the CLI prints."""
    bot = Bot(token, base_url=f"{api_url}/bot")
    try:
        async with bot:
            return bot.username
    except TelegramError as exc:
        raise TelegramUnavailable(why(exc, api_url)) from None


class TelegramChannel:
    """Owns the PTB Application and renders replies."""

    def __init__(self, application: App, dispatcher: Dispatcher) -> None:
        self.application = application
        self._dispatcher = dispatcher
        application.add_handler(TypeHandler(Update, self._on_update))
        application.add_error_handler(self._on_error)

    def parse(self, data: object) -> Update:
        """A webhook body as an Update; raises on a body that is not one."""
        update = Update.de_json(data, self.application.bot)  # type: ignore[arg-type]
        if update is None:
            raise ValueError("empty update")
        return update

    async def register_commands(self, commands: list[tuple[str, str]]) -> None:
        """Publish the Vietnamese command list shown in Telegram's menu."""
        await with_retries(lambda: self.application.bot.set_my_commands(
            [BotCommand(name, description) for name, description in commands]))

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every update goes through the dispatcher."""
        await self.process(update)

    async def process(self, update: Update) -> None:
        """Handle one update and send the replies; the callback spinner stops first."""
        incoming = to_incoming(update)
        if incoming is None:
            return
        query = update.callback_query
        if query is not None:
            try:
                await with_retries(lambda: self._call("answerCallbackQuery",
                                                      callback_query_id=query.id))
            except TelegramError as exc:
                # Answering only stops the spinner; a query that went stale while the bot was
                # down must still be acted on.
                log.info("could not answer callback query: %s", exc)
        replies = await handle_safely(self._dispatcher, incoming)
        origin = query.message if query is not None and isinstance(query.message, Message) \
            else None
        await self.send(int(incoming.chat_id), replies, origin=origin)

    async def send(self, chat_id: int, replies: list[Reply], *,
                   origin: Message | None = None) -> None:
        """Deliver replies in order; a blocked bot is logged, never retried."""
        metrics = self._dispatcher.deps.metrics  # direct replies are counted too
        try:
            for reply in replies:
                await self._send_one(chat_id, reply, origin)
                metrics.reply(CHANNEL, SendResult.sent())
        except Forbidden as exc:
            metrics.reply(CHANNEL, classify(exc))
            log.info("chat %s cannot be reached: %s", log_id(str(chat_id)), exc.message)
        except TelegramError as exc:
            metrics.reply(CHANNEL, classify(exc))
            raise

    async def _call(self, method: str, **params: Any) -> Any:
        """One Bot API call with a JSON body; the answer is not turned into PTB objects (the
        reply path reads none of it). Errors are PTB's, as from the Bot's own methods."""
        bot = self.application.bot
        return await bot.request.post(f"{bot.base_url}/{method}", JsonData(params))

    async def _send_one(self, chat_id: int, reply: Reply, origin: Message | None) -> None:
        bot = self.application.bot
        markup = keyboard_json(reply)
        if reply.edit and origin is not None and len(reply.text) <= MessageLimit.MAX_TEXT_LENGTH:
            try:
                await with_retries(lambda: self._call(
                    "editMessageText", chat_id=chat_id, message_id=origin.message_id,
                    text=reply.text, parse_mode=ParseMode.HTML, reply_markup=markup))
                return
            except BadRequest as exc:
                if "not modified" in exc.message:
                    return
                log.info("could not edit message, sending a new one: %s", exc.message)
        parts = split_text(reply.text, MessageLimit.MAX_TEXT_LENGTH)
        for index, part in enumerate(parts):
            # Buttons go under the last part, where the person finishes reading.
            await self._send_text(chat_id, part, markup if index == len(parts) - 1 else None)
        # Without text the buttons go under the file instead (the last one sent).
        file_markup = keyboard(reply) if not parts else None
        if reply.document is not None:
            doc = reply.document
            await with_retries(lambda: bot.send_document(
                chat_id, media(doc), filename=doc.filename or None,
                caption=doc.caption or None, parse_mode=ParseMode.HTML,
                reply_markup=file_markup if reply.photo is None else None))
        if reply.photo is not None:
            photo = reply.photo
            await with_retries(lambda: bot.send_photo(
                chat_id, media(photo), filename=photo.filename or None,
                caption=photo.caption or None, parse_mode=ParseMode.HTML,
                reply_markup=file_markup))

    async def _send_text(self, chat_id: int, text: str, markup: dict[str, Any] | None) -> None:
        await with_retries(lambda: self._call("sendMessage", chat_id=chat_id, text=text,
                                              parse_mode=ParseMode.HTML, reply_markup=markup))

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Last resort: log with traceback and apologise, never crash the bot."""
        log.error("error in Telegram handler", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            incoming = to_incoming(update)
            if incoming is not None:
                try:
                    await self.application.bot.send_message(incoming.chat_id,
                                                            wording.INTERNAL_ERROR)
                except Exception:  # the apology itself must never raise
                    log.warning("could not send the apology to chat %s",
                                log_id(str(incoming.chat_id)))


# --- outbox delivery: broadcasts and other bulk messages -----------------------------
class TelegramSender:
    """Delivers outbox messages one API call each, and classifies the outcome for the outbox
    (which owns retries and the shared rate limit: nothing here sleeps or retries)."""

    channel = CHANNEL

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def deliver(self, address: str, reply: Reply, *, paid: bool = False) -> SendResult:
        """Send one message to one private chat."""
        try:
            await self._send(int(address), reply, paid or None)
        except TelegramError as exc:
            result = classify(exc)
            if result.reason == BAD_REQUEST:
                log.warning("Telegram refused a bulk message to %s: %s", log_id(address),
                            exc.message)
            return result
        return SendResult.sent()

    async def _send(self, chat_id: int, reply: Reply, paid: bool | None) -> None:
        markup = keyboard(reply)
        if reply.photo is not None:
            await self._bot.send_photo(chat_id, media(reply.photo),
                                       caption=reply.photo.caption or None,
                                       parse_mode=ParseMode.HTML, reply_markup=markup,
                                       allow_paid_broadcast=paid)
        elif reply.document is not None:
            await self._bot.send_document(chat_id, media(reply.document),
                                          filename=reply.document.filename or None,
                                          caption=reply.document.caption or None,
                                          parse_mode=ParseMode.HTML, reply_markup=markup,
                                          allow_paid_broadcast=paid)
        else:
            await self._bot.send_message(chat_id, reply.text, parse_mode=ParseMode.HTML,
                                         reply_markup=markup, allow_paid_broadcast=paid)


def classify(exc: TelegramError) -> SendResult:
    """What a Bot API error means for a message (outbox retries, metrics' reasons)."""
    if isinstance(exc, RetryAfter):
        return SendResult.retry_after(seconds(exc.retry_after))
    if isinstance(exc, Forbidden):
        return SendResult.final(forbidden_reason(exc.message))
    if isinstance(exc, BadRequest):  # before NetworkError: BadRequest is one of its subclasses
        if "chat not found" in exc.message.lower():
            return SendResult.final(CHAT_NOT_FOUND)
        return SendResult.final(BAD_REQUEST)
    return SendResult.transient(str(exc))  # timeouts, 5xx, connection trouble


def seconds(delay: object) -> float:
    """RetryAfter.retry_after is an int today and a timedelta in a later PTB."""
    total = getattr(delay, "total_seconds", None)
    return float(total()) if callable(total) else float(delay)  # type: ignore[arg-type]


def forbidden_reason(message: str) -> str:
    """Which kind of 403 it was."""
    text = message.lower()
    if "blocked by the user" in text:
        return BLOCKED
    if "deactivated" in text:
        return DEACTIVATED
    return FORBIDDEN
