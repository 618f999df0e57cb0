"""Sending on Telegram: replies to updates, bulk messages for the outbox, and what an error
means. PTB stays the library for every call out (its Bot, errors and request class).

Replies are sent as JSON bodies through the Bot's request object (`BaseRequest.post`, so PTB
still maps the Bot API's errors) without turning the answers into PTB objects: the reply path
reads none of them. Long HTML texts are cut by `split_html`, never inside a tag.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit, ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.channels.telegram_transport import JsonData
from bot.channels.telegram_updates import CHANNEL
from bot.delivery.sender import (
    BAD_REQUEST,
    BLOCKED,
    CHAT_NOT_FOUND,
    DEACTIVATED,
    FORBIDDEN,
    SendResult,
)
from bot.engine.messages import Attachment, Reply
from bot.formatting import split_html
from bot.ops.metrics import Metrics
from bot.privacy.logid import log_id

log = logging.getLogger("dvbot.telegram")

ATTEMPTS = 4
T = TypeVar("T")


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
            delay = seconds(exc.retry_after)
            log.warning("Telegram asked to slow down: waiting %.1f s", delay)
            await asyncio.sleep(delay)
        except (TimedOut, NetworkError) as exc:
            if isinstance(exc, BadRequest) or attempt == ATTEMPTS:
                raise
            await asyncio.sleep(0.5 * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


class Replies:
    """Sends the replies to one update, in order, counting each in /metrics."""

    def __init__(self, bot: Bot, metrics: Metrics) -> None:
        self._bot = bot
        self._metrics = metrics

    async def call(self, method: str, **params: Any) -> Any:
        """One Bot API call with a JSON body; errors are PTB's, as from the Bot's methods."""
        bot = self._bot
        return await bot.request.post(f"{bot.base_url}/{method}", JsonData(params))

    async def send(self, chat_id: int, replies: list[Reply], *,
                   origin: int | None = None) -> None:
        """Deliver replies in order (`origin`: the message a pressed button was on); a blocked
        bot is logged, never retried."""
        try:
            for reply in replies:
                await self._send_one(chat_id, reply, origin)
                self._metrics.reply(CHANNEL, SendResult.sent())
        except Forbidden as exc:
            self._metrics.reply(CHANNEL, classify(exc))
            log.info("chat %s cannot be reached: %s", log_id(str(chat_id)), exc.message)
        except TelegramError as exc:
            self._metrics.reply(CHANNEL, classify(exc))
            raise

    async def _send_one(self, chat_id: int, reply: Reply, origin: int | None) -> None:
        markup = keyboard_json(reply)
        if reply.edit and origin is not None and await self._edited(chat_id, origin, reply,
                                                                    markup):
            return
        parts = split_html(reply.text, MessageLimit.MAX_TEXT_LENGTH)
        for index, part in enumerate(parts):
            # Buttons go under the last part, where the person finishes reading.
            await self._send_text(chat_id, part, markup if index == len(parts) - 1 else None)
        # Without text the buttons go under the file instead (the last one sent).
        await self._send_files(chat_id, reply, keyboard(reply) if not parts else None)

    async def _send_text(self, chat_id: int, text: str, markup: dict[str, Any] | None) -> None:
        await with_retries(lambda: self.call("sendMessage", chat_id=chat_id, text=text,
                                             parse_mode=ParseMode.HTML, reply_markup=markup))

    async def _edited(self, chat_id: int, origin: int, reply: Reply,
                      markup: dict[str, Any] | None) -> bool:
        """Edit the pressed button's message in place; False when a new message must go."""
        if len(reply.text) > MessageLimit.MAX_TEXT_LENGTH:
            return False
        try:
            await with_retries(lambda: self.call(
                "editMessageText", chat_id=chat_id, message_id=origin, text=reply.text,
                parse_mode=ParseMode.HTML, reply_markup=markup))
        except BadRequest as exc:
            if "not modified" in exc.message:
                return True
            log.info("could not edit message, sending a new one: %s", exc.message)
            return False
        return True

    async def _send_files(self, chat_id: int, reply: Reply,
                          file_markup: InlineKeyboardMarkup | None) -> None:
        bot = self._bot
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
