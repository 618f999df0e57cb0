"""PTB handles updates concurrently, each account's in the order they arrived.

PTB's default handles one update at a time, so one person's slow step (a file download, a
WAITAOF) holds up everyone, and the worker waits on Redis round trips it could overlap. With
`concurrent_updates` alone, two updates of one person could run out of order (the Redis lock
serializes them but does not order them). This processor chains each account's updates in
this process: an update starts once the previous update of the same account has finished;
different accounts run side by side. Across webhook workers the Redis inbox
(bot/channels/telegram_ordered.py) keeps the order; this keeps it inside one process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

CONCURRENCY = 256  # updates in progress at once; PTB's own default for concurrent_updates


def account_of(update: object) -> str | None:
    """Whose update this is (None: no order to keep, e.g. a poll or an inline query)."""
    if isinstance(update, Update):
        user = update.effective_user
        return str(user.id) if user is not None else None
    user_id = getattr(update, "user_id", None)  # the webhook inbox's Drain
    return str(user_id) if user_id is not None else None


class PerAccountOrder(BaseUpdateProcessor):
    """Concurrent across accounts, in arrival order within one account.

    PTB starts processing tasks in the order updates leave its queue, and nothing awaits
    before `do_process_update` is entered, so each update finds its predecessor already
    registered. A waiting update holds a concurrency slot, but the update it waits for got its
    slot first (the semaphore is FIFO), so the chain cannot deadlock."""

    def __init__(self, max_concurrent_updates: int = CONCURRENCY) -> None:
        super().__init__(max_concurrent_updates)
        self._tails: dict[str, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the account's previous update, then run this one."""
        account = account_of(update)
        if account is None:
            await coroutine
            return
        before = self._tails.get(account)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[account] = mine
        try:
            if before is not None:
                try:
                    await asyncio.shield(before)  # only wait for its end, never cancel it
                except BaseException:
                    if isinstance(coroutine, Coroutine):
                        coroutine.close()  # cancelled before it started: never to run
                    raise
            await coroutine
        finally:
            mine.set_result(None)
            if self._tails.get(account) is mine:
                del self._tails[account]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: PTB awaits the updates in flight before shutting down."""
