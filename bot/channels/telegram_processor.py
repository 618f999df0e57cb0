"""Telegram updates handled concurrently, each account's in the order they arrived.

One at a time, one person's slow step (a file download, a WAITAOF) would hold up everyone,
and the worker would wait on Redis round trips it could overlap. Concurrency alone could run
two updates of one person out of order (the Redis lock serializes them but does not order
them). So each account's updates are chained in this process: an update starts once the
previous update of the same account has finished; different accounts run side by side.
Across webhook workers the Redis inbox (bot/channels/telegram_ordered.py) keeps the order;
this keeps it inside one process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

CONCURRENCY = 256  # updates in progress at once (PTB's own default for concurrent updates)

log = logging.getLogger("dvbot.telegram")


class PerAccountOrder:
    """Concurrent across accounts, in submission order within one account.

    Each update takes one of CONCURRENCY slots when its task starts, before waiting for its
    predecessor. A waiting update holds a slot, but the update it waits for was submitted
    earlier, so it asked for its slot first (tasks start in order, the semaphore is FIFO):
    the chain cannot deadlock."""

    def __init__(self, max_concurrent: int = CONCURRENCY) -> None:
        self._limit = max_concurrent
        self._slots = asyncio.Semaphore(max_concurrent)
        self._tails: dict[str, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, account: str | None, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` after the account's previous work (None: no order to keep). Returns at
        once: a webhook answers Telegram without waiting for the handling."""
        before = self._tails.get(account) if account is not None else None
        mine: asyncio.Future[None] | None = None
        if account is not None:
            mine = asyncio.get_running_loop().create_future()
            self._tails[account] = mine
        task = asyncio.create_task(self._run(account, before, mine, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def room(self) -> None:
        """Wait until fewer than CONCURRENCY updates are in progress (the poller's pace)."""
        while len(self._tasks) >= self._limit:
            await asyncio.wait(list(self._tasks), return_when=asyncio.FIRST_COMPLETED)

    async def _run(self, account: str | None, before: asyncio.Future[None] | None,
                   mine: asyncio.Future[None] | None, work: Coroutine[Any, Any, None]) -> None:
        started = False
        try:
            async with self._slots:
                if before is not None:
                    await asyncio.shield(before)  # only wait for its end, never cancel it
                started = True
                await work
        except Exception:  # the work handles its own errors: this is the last resort
            log.exception("error in Telegram update")
        finally:
            if not started:
                work.close()  # cancelled before it started: never to run
            if mine is not None and account is not None:
                mine.set_result(None)
                if self._tails.get(account) is mine:
                    del self._tails[account]

    @property
    def in_progress(self) -> int:
        """Updates submitted and not finished."""
        return len(self._tasks)

    async def join(self) -> None:
        """Wait until everything submitted has finished (on shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
