"""The one place that turns a failure into a log line with traceback and a polite answer."""

from __future__ import annotations

import logging

from redis.exceptions import ConnectionError, TimeoutError

from bot import wording
from bot.engine.conversation import Busy
from bot.engine.dispatcher import Dispatcher
from bot.engine.messages import Incoming, Reply
from bot.ops.logs import RequestId
from bot.ops.metrics import Stopwatch
from bot.privacy.logid import log_id

log = logging.getLogger("dvbot.errors")


async def handle_safely(dispatcher: Dispatcher, incoming: Incoming) -> list[Reply]:
    """Dispatch under a fresh request id, count it in the metrics, and answer in Vietnamese
    whatever goes wrong (the channels' error hook)."""
    token = RequestId.new()
    watch = Stopwatch()
    try:
        replies, outcome = await _handle(dispatcher, incoming)
        dispatcher.deps.metrics.handled(incoming.channel, outcome, watch.elapsed())
        return replies
    finally:
        RequestId.reset(token)


async def _handle(dispatcher: Dispatcher, incoming: Incoming) -> tuple[list[Reply], str]:
    try:
        return await dispatcher.handle(incoming), "ok"
    except Busy:
        log.warning("account %s still busy; asked to resend",
                    log_id(f"{incoming.channel}:{incoming.user_id}"))
        return [Reply(wording.BUSY)], "busy"
    except (ConnectionError, TimeoutError):
        log.exception("store unavailable while handling %s update", incoming.channel)
        return [Reply(wording.STORE_DOWN)], "store_down"
    except Exception:
        log.exception("unhandled error while handling %s update", incoming.channel)
        return [Reply(wording.INTERNAL_ERROR)], "error"
