"""Owns the background delivery tasks of one process: started with the app, stopped with it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger("dvbot.delivery")

Service = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@asynccontextmanager
async def running(*services: Service, grace: float = 10.0) -> AsyncIterator[asyncio.Event]:
    """Run `services` (workers, scheduler) for the duration of the block. On exit they are
    asked to stop, get `grace` seconds to finish the message in hand, and are then cancelled."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(service(stop)) for service in services]
    try:
        yield stop
    finally:
        stop.set()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            for result in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(result, Exception):
                    log.error("a delivery task ended with an error", exc_info=result)
