"""Starting the Telegram side: ask getMe once, and turn a refusal into one Vietnamese line.

PTB reports a rejected token as "The token `123:ABC…` was rejected by the server", which would
print the secret, and a Bot whose getMe failed keeps its HTTP sessions open ("Unclosed client
session" at exit). Both are handled here, once, for `dvbot run`,
`dvbot worker` and the CLI's invite links.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut


class TelegramUnavailable(Exception):
    """The Bot API could not be asked (bad token, network): the message says why, in one
    Vietnamese line without the token."""


def why(exc: TelegramError, api_url: str) -> str:
    """A one-line reason for an operator, never containing the token."""
    if isinstance(exc, InvalidToken):
        return ("Telegram từ chối DVBOT_TELEGRAM_TOKEN: token sai hoặc đã bị thu hồi "
                "(lấy lại token ở @BotFather).")
    if isinstance(exc, TimedOut | NetworkError):
        return (f"Không kết nối được máy chủ Telegram tại {api_url}: kiểm tra mạng hoặc "
                "DVBOT_TELEGRAM_API_URL.")
    return f"Máy chủ Telegram tại {api_url} trả lời lỗi khi kiểm tra token của bot."


@asynccontextmanager
async def initialized(bot: Bot, api_url: str) -> AsyncIterator[Bot]:
    """The bot initialized (token checked by getMe) and shut down on exit."""
    try:
        await bot.initialize()
    except TelegramError as exc:
        await bot.shutdown()  # the request sessions opened before getMe failed
        raise TelegramUnavailable(why(exc, api_url)) from None
    try:
        yield bot
    finally:
        await bot.shutdown()
