"""Zalo Bot Platform adapter: the only module that knows that API.

Telegram-like HTTP API (`<api>/bot<TOKEN>/<method>`, JSON in, `{ok, result}` out) with no
buttons: options are numbered and typed back. Updates arrive by webhook in production (secret
header, body flat or wrapped in `{ok, result}`; Zalo documents polling as a development tool
that may miss events) or by long polling (`getUpdates` answers one update at a time, error 408
when idle — as HTTP 408 or as HTTP 200 with `error_code` 408 — and has no offset). Neither
carries an update id, so each message is taken once by its `message_id`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from redis.exceptions import RedisError

from bot.channels.zalo_bot_client import ZaloBotClient, ZaloBotError
from bot.channels.zalo_common import (
    UNREADABLE,
    FileLinks,
    Inbox,
    download_photo,
    render,
)
from bot.channels.zalo_watch import WebhookWatch
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import BAD_REQUEST, CHAT_NOT_FOUND, SendResult
from bot.delivery.worker import pause
from bot.engine.conversation import ConversationStore
from bot.engine.dispatcher import Dispatcher
from bot.engine.errors import handle_safely
from bot.engine.messages import FileRef, Incoming, Reply
from bot.privacy.logid import log_id

log = logging.getLogger("dvbot.zalo_bot")

CHANNEL = "zalo"
SECRET_HEADER = "X-Bot-Api-Secret-Token"  # noqa: S105 - a header name
ATTEMPTS = 4


def webhook_path(secret: str) -> str:
    """Unguessable, stable path of the Bot Platform webhook (one URL per bot)."""
    digest = hashlib.sha256(f"dvbot-zalo-bot-path:{secret}".encode()).hexdigest()
    return f"/zalo/{digest[:32]}"


def unwrap(body: object) -> dict[str, Any] | None:
    """The update inside a webhook body, flat `{event_name, message}` or wrapped in `{ok,
    result}`; None if it is neither."""
    if isinstance(body, dict) and isinstance(body.get("result"), dict):
        body = body["result"]
    if isinstance(body, dict) and isinstance(body.get("message"), dict) \
            and isinstance(body.get("event_name"), str):
        return body
    return None


def to_incoming(update: dict[str, Any], session: aiohttp.ClientSession) -> Incoming | None:
    """The neutral form of an update, or None for what the bot ignores (groups, bots)."""
    message = update["message"]
    sender = message.get("from") or {}
    chat = message.get("chat") or {}
    if sender.get("is_bot") or str(chat.get("chat_type", "PRIVATE")).upper() != "PRIVATE":
        return None
    user_id = str(sender.get("id") or chat.get("id") or "")
    if not user_id:
        return None
    base = Incoming(channel=CHANNEL, user_id=user_id, chat_id=str(chat.get("id") or user_id),
                    display_name=str(sender.get("display_name") or sender.get("first_name")
                                     or ""), buttons=False)
    event = update["event_name"]
    if event == "message.text.received":
        return replace(base, text=str(message.get("text") or ""))
    # The doc's field table says `photo`, the official SDK and live payloads `photo_url`.
    url = str(message.get("photo_url") or message.get("photo") or "")
    if event == "message.image.received" and url:
        ref = FileRef(url, "photo", fetch=lambda: download_photo(session, url))
        return replace(base, file=ref, text=message.get("caption"))
    return replace(base, text=None)  # stickers, voice, unsupported: see `unsupported`


def unsupported(update: dict[str, Any]) -> bool:
    """A message the bot cannot read (sticker, voice, "unsupported"): answered politely."""
    return update["event_name"] not in ("message.text.received", "message.image.received") \
        or not (update["message"].get("text") or update["message"].get("photo_url")
                or update["message"].get("photo"))


class ZaloBotChannel:
    """Takes updates (poller or webhook), runs them through the dispatcher, sends replies."""

    def __init__(self, client: ZaloBotClient, dispatcher: Dispatcher,
                 files: FileLinks | None = None, limiter: RateLimiter | None = None) -> None:
        self.client = client
        self._dispatcher = dispatcher
        self._conversations: ConversationStore = dispatcher.deps.conversations
        self._reach = dispatcher.deps.broadcasts.reach
        self._files = files
        self._limiter = limiter
        self._restored_at = 0.0
        self.inbox = Inbox()
        self.watch = WebhookWatch("zalo_bot", dispatcher.deps.metrics)

    async def accept(self, update: dict[str, Any]) -> bool:
        """Queue an update once per message id; False for a duplicate. Raises RedisError."""
        message_id = str(update["message"].get("message_id") or "")
        if message_id and not await self._conversations.first_time(CHANNEL, message_id):
            log.info("Zalo message %s was already taken; ignoring it", message_id)
            return False
        incoming = to_incoming(update, self.client.session)
        if incoming is None:
            return True
        await self._reach.interacted(CHANNEL, incoming.user_id, time.time())
        if unsupported(update):
            self.inbox.put(incoming.user_id,
                           lambda: self.send(incoming.chat_id, [Reply(UNREADABLE)]))
        else:
            self.inbox.put(incoming.user_id, lambda: self.handle(incoming))
        return True

    async def handle(self, incoming: Incoming) -> None:
        """Dispatch one message and answer it."""
        replies = await handle_safely(self._dispatcher, incoming)
        await self.send(incoming.chat_id, replies)

    async def send(self, chat_id: str, replies: list[Reply]) -> None:
        """Deliver replies in order; an unreachable chat is logged, never retried."""
        numbered = max((i for i, r in enumerate(replies) if r.buttons), default=-1)
        metrics = self._dispatcher.deps.metrics  # direct replies are counted too
        try:
            for index, reply in enumerate(replies):
                for message in render(reply, numbers=index == numbered, files=self._files):
                    await self._with_retries(lambda m=message: self.client.send(chat_id, m))
                metrics.reply(CHANNEL, SendResult.sent())
        except ZaloBotError as exc:
            metrics.reply(CHANNEL, classify(exc))
            log.warning("could not answer Zalo chat %s: %s", log_id(str(chat_id)), exc)
            if exc.quota:  # still "Quota exceeded" after bounded retries: the monthly quota
                await self._reach.exhaust(CHANNEL, datetime.now(UTC))
            return
        if replies and time.monotonic() - self._restored_at > 60:
            self._restored_at = time.monotonic()  # a reply went out: the quota is not used up
            await self._reach.restore(CHANNEL)

    async def _with_retries(self, call: Any) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await call()
                return
            except ZaloBotError as exc:
                if not exc.retryable or attempt == ATTEMPTS:
                    raise
                wait = min(exc.retry_after or 0.5 * 2 ** (attempt - 1), 30.0)
                if exc.status == 429 and self._limiter is not None:
                    await self._limiter.pause(wait)  # bulk senders back off too
                await asyncio.sleep(wait)

    async def poll(self, stop: asyncio.Event) -> None:
        """Long polling until `stop`: one update per call, 408 when idle."""
        errors = 0
        while not stop.is_set():
            polled = asyncio.ensure_future(self.client.get_updates())
            stopped = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({polled, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if polled not in done:
                polled.cancel()
                break
            stopped.cancel()
            try:
                update = polled.result()
                if update is not None and unwrap(update) is not None:
                    await self._accept_until_stored(update, stop)
                errors = 0
            except ZaloBotError as exc:
                errors += 1
                log.warning("getUpdates failed (%d in a row): %s", errors, exc)
                await pause(stop, min(0.5 * 2 ** errors, 30.0))

    async def _accept_until_stored(self, update: dict[str, Any], stop: asyncio.Event) -> None:
        # Polling has no redelivery: an update we fail to record would be lost, so keep it.
        while not stop.is_set():
            try:
                await self.accept(update)
                return
            except RedisError:
                log.exception("store unavailable; holding a Zalo update until it is back")
                await pause(stop, 1.0)

    async def on_webhook(self, request: web.Request) -> web.Response:
        """Receive one Bot Platform update; every answer is watched (see zalo_watch)."""
        response = await self._webhook(request)
        self.watch.answered(response.status)
        return response

    async def _webhook(self, request: web.Request) -> web.Response:
        """One update: secret header checked in constant time, taken once."""
        sent = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(sent.encode(), request.app[ZALO_SECRET].encode()):
            log.warning("rejected a Zalo webhook call with a wrong secret from %s",
                        request.remote)
            return web.json_response({"ok": False}, status=401)
        try:
            update = unwrap(await request.json())
        except (json.JSONDecodeError, ValueError):
            update = None
        if update is None:
            return web.json_response({"ok": False, "error": "bad update"}, status=400)
        try:
            first = await self.accept(update)
        except RedisError:
            log.exception("store unavailable; asking Zalo to redeliver")
            return web.json_response({"ok": False}, status=503)
        return web.json_response({"ok": True, "duplicate": not first})

    def add_routes(self, app: web.Application, secret: str) -> None:
        """Mount the webhook on the shared aiohttp server."""
        app[ZALO_SECRET] = secret
        app.router.add_post(webhook_path(secret), self.on_webhook)

    async def set_webhook(self, base_url: str, secret: str) -> None:
        """Point the Bot Platform at our webhook (polling stops working while it is set)."""
        await self.client.call("setWebhook", {"url": f"{base_url}{webhook_path(secret)}",
                                              "secret_token": secret})


ZALO_SECRET = web.AppKey("zalo_bot_secret", str)


def classify(exc: ZaloBotError) -> SendResult:
    """What an error means for a delivery (the bulk sender handles 429 itself)."""
    if exc.quota:
        return SendResult.retry_after(1.0)
    if exc.retryable:  # 403 is Zalo's "Internal server error": retried, never "blocked"
        return SendResult.transient(str(exc))
    text = exc.description.lower()
    if "not found" in text or ("chat" in text and "invalid" in text):
        return SendResult.final(CHAT_NOT_FOUND)
    if exc.status == 401:
        return SendResult.transient("token refused (401)")  # misconfiguration, not the member
    return SendResult.final(BAD_REQUEST)
