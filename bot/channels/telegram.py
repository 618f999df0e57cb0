"""Telegram adapter: updates in, replies out.

Updates arrive as the Bot API's JSON (long polling in telegram_polling.py, or the webhook in
webhook.py), are read into neutral `Incoming`s by telegram_updates.py without PTB's
Application, and are handled here: concurrently across accounts, in order within one
(telegram_processor.py). PTB's `Bot` is the library for everything sent (telegram_send.py).
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand
from telegram.error import TelegramError

from bot import wording
from bot.channels.telegram_processor import PerAccountOrder
from bot.channels.telegram_send import Replies, with_retries
from bot.channels.telegram_start import TelegramUnavailable, why
from bot.channels.telegram_transport import AiohttpRequest
from bot.channels.telegram_updates import CHANNEL, BadUpdate, Inbound, parse_update
from bot.engine.dispatcher import Dispatcher
from bot.engine.errors import handle_safely
from bot.engine.messages import FileUnavailable
from bot.privacy.logid import log_id

__all__ = ["CHANNEL", "TelegramBot", "TelegramChannel", "build_bot", "fetch_username"]

log = logging.getLogger("dvbot.telegram")
TelegramBot = Bot  # for annotations outside the adapter, which never imports `telegram`


def build_bot(token: str, api_url: str) -> Bot:
    """A PTB Bot pointed at `api_url` (official server, self-hosted, or a test stand-in)."""
    # aiohttp instead of httpx, ~2.5x the throughput (bench/throughput.py); getUpdates goes
    # through the poller's own request (telegram_polling.py), so this one stays idle.
    return Bot(token, base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot",
               request=AiohttpRequest(), get_updates_request=AiohttpRequest(pool_size=1))


async def fetch_username(token: str, api_url: str) -> str:
    """The bot's username from getMe, for the invite links the CLI prints."""
    bot = Bot(token, base_url=f"{api_url}/bot")
    try:
        async with bot:
            return bot.username
    except TelegramError as exc:
        raise TelegramUnavailable(why(exc, api_url)) from None


class TelegramChannel:
    """Handles updates (each account's in order) and renders the replies."""

    def __init__(self, bot: Bot, dispatcher: Dispatcher,
                 order: PerAccountOrder | None = None) -> None:
        self.bot = bot
        self.order = order or PerAccountOrder()
        self._dispatcher = dispatcher
        self._replies = Replies(bot, dispatcher.deps.metrics)

    def parse(self, data: object) -> Inbound | None:
        """An update's JSON as dvbot handles it (None: ignored); raises BadUpdate."""
        return parse_update(data, self.download)

    async def take(self, data: object) -> None:
        """A polled update: parsed, then handled after the account's earlier ones."""
        try:
            inbound = self.parse(data)
        except BadUpdate as exc:
            log.warning("ignored an update that is not one: %s", exc)
            return
        if inbound is not None:
            await self.order.room()  # the poller waits while too many are in progress
            self.order.submit(inbound.account, self.process(inbound))

    async def register_commands(self, commands: list[tuple[str, str]]) -> None:
        """Publish the Vietnamese command list shown in Telegram's menu."""
        await with_retries(lambda: self.bot.set_my_commands(
            [BotCommand(name, description) for name, description in commands]))

    async def process(self, inbound: Inbound) -> None:
        """Handle one update and send the replies; never raises (the person gets an apology)."""
        try:
            await self._handle(inbound)
        except Exception:  # the last resort: log with traceback, apologise, keep running
            log.exception("error in Telegram handler")
            await self._apologise(inbound.incoming.chat_id)

    async def _handle(self, inbound: Inbound) -> None:
        """The callback spinner stops first, then the dispatcher answers."""
        if inbound.query_id is not None:
            try:
                await with_retries(lambda: self._replies.call(
                    "answerCallbackQuery", callback_query_id=inbound.query_id))
            except TelegramError as exc:
                # Answering only stops the spinner; a query that went stale while the bot was
                # down must still be acted on.
                log.info("could not answer callback query: %s", exc)
        replies = await handle_safely(self._dispatcher, inbound.incoming)
        await self._replies.send(int(inbound.incoming.chat_id), replies, origin=inbound.origin)

    async def _apologise(self, chat_id: str) -> None:
        try:
            await self.bot.send_message(chat_id, wording.INTERNAL_ERROR)
        except Exception:  # the apology itself must never raise
            log.warning("could not send the apology to chat %s", log_id(chat_id))

    async def download(self, file_id: str) -> bytes:
        """Fetch a document or photo a user sent (getFile refuses files over 20 MB)."""
        try:
            file = await with_retries(lambda: self.bot.get_file(file_id))
            return bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            raise FileUnavailable(str(exc)) from exc

    async def stop(self) -> None:
        """Wait for the updates in progress (after polling or the webhook stopped)."""
        await self.order.join()
