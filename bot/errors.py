"""The one place that turns a failure into a log line with traceback and a polite answer."""

from __future__ import annotations

import logging

from redis.exceptions import ConnectionError, TimeoutError

from bot import texts
from bot.conversation import Busy
from bot.dispatcher import Dispatcher
from bot.messages import Incoming, Reply

log = logging.getLogger("dvbot.errors")


async def handle_safely(dispatcher: Dispatcher, incoming: Incoming) -> list[Reply]:
    """Dispatch, and answer in Vietnamese whatever goes wrong (the channels' error hook)."""
    try:
        return await dispatcher.handle(incoming)
    except Busy:
        log.warning("account %s:%s still busy; asked to resend", incoming.channel,
                    incoming.user_id)
        return [Reply(texts.BUSY)]
    except (ConnectionError, TimeoutError):
        log.exception("store unavailable while handling %s update", incoming.channel)
        return [Reply(texts.STORE_DOWN)]
    except Exception:
        log.exception("unhandled error while handling %s update", incoming.channel)
        return [Reply(texts.INTERNAL_ERROR)]
