"""The aiohttp server for webhook mode: Telegram updates at a secret path, and /healthz.

Checks the secret header in constant time, reads the update's JSON (telegram_updates.py),
takes each update_id once (Telegram redelivers on timeouts), queues the update in its
account's inbox and answers 200 at once: handling happens after.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.channels.telegram import CHANNEL, TelegramChannel
from bot.channels.telegram_ordered import OrderedTelegram
from bot.channels.telegram_updates import update_id as id_of
from bot.engine.conversation import ConversationStore

log = logging.getLogger("dvbot.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
REDIS = web.AppKey("redis", Redis)
TELEGRAM = web.AppKey("telegram", TelegramChannel)
CONVERSATIONS = web.AppKey("conversations", ConversationStore)
SECRET = web.AppKey("secret", str)
ORDERED = web.AppKey("ordered", OrderedTelegram)  # per-account order across workers
# Extra health details: each check answers {} when fine, {"part": "what is wrong"} otherwise.
HEALTH = web.AppKey("health", list[Callable[[], Awaitable[dict[str, str]]]])


def telegram_path(secret: str) -> str:
    """The webhook path: derived from the secret, so it is unguessable but stable across workers."""
    digest = hashlib.sha256(f"dvbot-telegram-path:{secret}".encode()).hexdigest()
    return f"/telegram/{digest[:32]}"


async def healthz(request: web.Request) -> web.Response:
    """200 when Redis answers, 503 otherwise (load balancers take the worker out). Trouble
    only an operator can fix (a Zalo OA whose tokens died) is named as "degraded", with 200:
    the worker still serves everyone else."""
    try:
        await request.app[REDIS].ping()
        details: dict[str, str] = {}
        for check in request.app.get(HEALTH, []):
            details.update(await check())
    except RedisError as exc:
        return web.json_response({"status": "error", "redis": str(exc)}, status=503)
    return web.json_response({"status": "degraded" if details else "ok", "redis": "ok",
                              **details})


async def telegram_update(request: web.Request) -> web.Response:
    """Receive one Telegram update."""
    sent = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(sent.encode(), request.app[SECRET].encode()):
        log.warning("rejected a webhook call with a wrong or missing secret from %s",
                    request.remote)
        return web.json_response({"ok": False}, status=401)
    channel = request.app[TELEGRAM]
    try:
        body = await request.read()
        data = orjson.loads(body)
        update_id = id_of(data)
        # Parse before marking it seen: a body that is not an Update must not burn its id.
        inbound = channel.parse(data)
    except ValueError:  # not JSON (orjson's error is one), or not an update (BadUpdate)
        return web.json_response({"ok": False, "error": "bad update"}, status=400)
    try:
        first = await request.app[CONVERSATIONS].first_time(CHANNEL, str(update_id))
    except RedisError:
        # Without the store we cannot promise once-only handling: let Telegram retry later.
        log.exception("store unavailable; asking Telegram to redeliver update %s", update_id)
        return web.json_response({"ok": False}, status=503)
    if not first:
        log.info("update %s was already taken; ignoring the redelivery", update_id)
        return web.json_response({"ok": True, "duplicate": True})
    if inbound is None:  # edits, channel posts, group chats...: taken, and ignored
        return web.json_response({"ok": True})
    ordered = request.app.get(ORDERED)
    if ordered is not None:
        await ordered.accept(inbound, body.decode())
    else:
        channel.order.submit(inbound.account, channel.process(inbound))
    return web.json_response({"ok": True})


def build_web_app(redis: Redis, conversations: ConversationStore,
                  telegram: TelegramChannel | None, secret: str) -> web.Application:
    """The aiohttp application; services live on it under typed AppKeys."""
    app = web.Application(client_max_size=1 << 20)
    app[REDIS] = redis
    app[CONVERSATIONS] = conversations
    app[SECRET] = secret
    app.router.add_get("/healthz", healthz)
    if telegram is not None:
        app[TELEGRAM] = telegram
        app.router.add_post(telegram_path(secret), telegram_update)
    return app
