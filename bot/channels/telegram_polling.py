"""Long polling without PTB's Updater: getUpdates in a loop, each update's JSON handed on.

It keeps what PTB's Updater did for dvbot: the webhook is deleted first (polling and a webhook
exclude each other), each getUpdates confirms the updates before its offset, a 429 waits as
long as Telegram asks, a timeout polls again at once, other errors back off up to 30 s, a
rejected token stops polling; and on stopping, one last getUpdates confirms every update taken,
so a restart does not get them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from telegram import Bot
from telegram.error import InvalidToken, RetryAfter, TelegramError, TimedOut

from bot.channels.telegram_send import seconds
from bot.channels.telegram_transport import AiohttpRequest, JsonData

log = logging.getLogger("dvbot.telegram")

POLL_TIMEOUT = 10  # seconds Telegram holds a getUpdates open when nothing is waiting
MAX_BACKOFF = 30.0


class Poller:
    """getUpdates in a loop on its own HTTP session; `take` gets each update in order."""

    def __init__(self, bot: Bot, take: Callable[[object], Awaitable[None]],
                 allowed_updates: Sequence[str], *, timeout: int = POLL_TIMEOUT) -> None:
        self._bot = bot
        self._take = take
        self._allowed = list(allowed_updates)
        self._timeout = timeout
        self._request = AiohttpRequest(pool_size=1)
        self._offset = 0  # the first update_id not yet taken

    async def _get(self, hold: int) -> list[object]:
        params = {"offset": self._offset, "timeout": hold, "allowed_updates": self._allowed}
        result = await self._request.post(f"{self._bot.base_url}/getUpdates", JsonData(params),
                                          read_timeout=(self._request.read_timeout or 0)
                                          + hold)
        return list(result) if isinstance(result, list) else []

    async def run(self) -> None:
        """Poll until cancelled (or the token is rejected)."""
        delay = 0.0
        while True:
            try:
                updates = await self._get(self._timeout)
            except RetryAfter as exc:
                delay = 0.5 + seconds(exc.retry_after)
            except TimedOut:
                delay = 0.0
            except InvalidToken:
                log.error("Telegram rejected the token: polling stopped")
                raise
            except TelegramError as exc:
                delay = 1.0 if delay == 0 else min(MAX_BACKOFF, 1.5 * delay)
                log.warning("getUpdates failed (%s); polling again in %.0f s", exc, delay)
            else:
                delay = 0.0
                for update in updates:
                    await self._take(update)
                    self._offset = _next_offset(update, self._offset)
            if delay:
                await asyncio.sleep(delay)

    async def confirm(self) -> None:
        """Mark every update taken as read, so a restart does not get it again."""
        try:
            await self._get(0)
        except TelegramError:
            log.warning("could not confirm the updates taken; a restart may see them again")

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Poll in the background; on exit stop, then confirm what was taken."""
        await self._bot.delete_webhook()
        await self._request.initialize()
        task = asyncio.create_task(self.run())
        try:
            yield
        finally:
            task.cancel()
            try:
                with contextlib.suppress(asyncio.CancelledError, InvalidToken):
                    await task
            finally:
                await self.confirm()
                await self._request.shutdown()


def _next_offset(update: object, offset: int) -> int:
    """The offset after `update` (one with no usable update_id leaves it as it was)."""
    number = update.get("update_id") if isinstance(update, dict) else None
    if isinstance(number, int) and not isinstance(number, bool):
        return max(offset, number + 1)
    return offset
