"""Zalo Bot Platform adapter: the only module that knows that API.

Telegram-like HTTP API (`<api>/bot<TOKEN>/<method>`, JSON in, `{ok, result}` out) with no
buttons: options are numbered and typed back. Updates arrive by long polling (`getUpdates`
answers one update at a time, HTTP 408 when idle, no offset) or by webhook (secret header,
body flat or wrapped in `{ok, result}`). Neither carries an update id, so each message is
taken once by its `message_id`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web
from redis.exceptions import RedisError

from bot.channels.zalo_common import (
    LIMIT,
    FileLinks,
    Inbox,
    Outgoing,
    ZaloSender,
    download_photo,
    render,
)
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import BAD_REQUEST, BLOCKED, CHAT_NOT_FOUND, SendResult
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
POLL_TIMEOUT = 30  # seconds getUpdates may hold the request


class ZaloBotError(Exception):
    """An error answer (or no answer) from the Bot Platform; never contains the token."""

    def __init__(self, status: int, code: int, description: str,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{status}/{code}: {description}")
        self.status, self.code, self.description = status, code, description
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """429, 5xx and network trouble (status 0) may succeed later."""
        return self.status in (0, 429) or self.status >= 500


class ZaloBotClient:
    """Minimal async client; the token lives only in the request path."""

    def __init__(self, session: aiohttp.ClientSession, token: str, api_url: str) -> None:
        self._session = session
        self._base = f"{api_url}/bot{token}"
        self.bot_id = token.split(":", 1)[0]
        self.session = session

    async def call(self, method: str, payload: dict[str, Any] | None = None, *,
                   seconds: float = 20.0) -> Any:
        """POST one method; the `result`, or None for a 408 (an idle long poll)."""
        try:
            async with self._session.post(f"{self._base}/{method}", json=payload or {},
                                          timeout=aiohttp.ClientTimeout(total=seconds)) as resp:
                if resp.status == 408:
                    return None
                try:
                    body = await resp.json(content_type=None)
                except (json.JSONDecodeError, ValueError):
                    raise ZaloBotError(resp.status, resp.status, "not JSON") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            # str(exc) of some aiohttp errors includes the URL, and the URL holds the token.
            raise ZaloBotError(0, 0, type(exc).__name__) from None
        if not isinstance(body, dict) or not body.get("ok"):
            body = body if isinstance(body, dict) else {}
            retry = (body.get("parameters") or {}).get("retry_after")
            raise ZaloBotError(resp.status, int(body.get("error_code") or resp.status),
                               str(body.get("description") or ""),
                               float(retry) if retry is not None else None)
        return body.get("result")

    async def get_updates(self, wait: int = POLL_TIMEOUT) -> dict[str, Any] | None:
        """One update, or None when none came within `wait` seconds."""
        result = await self.call("getUpdates", {"timeout": wait}, seconds=wait + 10)
        return result if isinstance(result, dict) and result else None

    async def send_message(self, chat_id: str, text: str) -> None:
        """Send plain text (1–2,000 characters)."""
        await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def send_photo(self, chat_id: str, url: str, caption: str) -> None:
        """Send a photo by URL (the only way the Bot Platform takes photos)."""
        payload = {"chat_id": chat_id, "photo": url}
        await self.call("sendPhoto", {**payload, "caption": caption} if caption else payload)

    async def send(self, chat_id: str, message: Outgoing) -> None:
        """Send one rendered message."""
        if message.photo_url:
            await self.send_photo(chat_id, message.photo_url, message.text)
        else:
            await self.send_message(chat_id, message.text)


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
    if event == "message.image.received" and message.get("photo_url"):
        url = str(message["photo_url"])
        ref = FileRef(url, "photo", fetch=lambda: download_photo(session, url))
        return replace(base, file=ref, text=message.get("caption"))
    return base  # stickers, voice...: the dispatcher explains what it understands


class ZaloBotChannel:
    """Takes updates (poller or webhook), runs them through the dispatcher, sends replies."""

    def __init__(self, client: ZaloBotClient, dispatcher: Dispatcher,
                 files: FileLinks | None = None, limiter: RateLimiter | None = None) -> None:
        self.client = client
        self._dispatcher = dispatcher
        self._conversations: ConversationStore = dispatcher.deps.conversations
        self._files = files
        self._limiter = limiter
        self.inbox = Inbox()

    async def accept(self, update: dict[str, Any]) -> bool:
        """Queue an update once per message id; False for a duplicate. Raises RedisError."""
        message_id = str(update["message"].get("message_id") or "")
        if message_id and not await self._conversations.first_time(CHANNEL, message_id):
            log.info("Zalo message %s was already taken; ignoring it", message_id)
            return False
        incoming = to_incoming(update, self.client.session)
        if incoming is not None:
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
        """Receive one Bot Platform update (secret header checked in constant time)."""
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


# --- outbox delivery: broadcasts and notices ----------------------------------------------------
class ZaloBotSender(ZaloSender):
    """Outbox delivery on the Bot Platform: numbered options, text links for files."""

    channel = CHANNEL
    error = ZaloBotError

    def render(self, reply: Reply) -> list[Outgoing]:
        return render(reply, numbers=True, files=self._files, limit=LIMIT)

    def classify(self, exc: Exception) -> SendResult:
        assert isinstance(exc, ZaloBotError)
        return classify(exc)


def classify(exc: ZaloBotError) -> SendResult:
    """What an error means for a bulk delivery."""
    if exc.status == 429:
        return SendResult.retry_after(exc.retry_after or 1.0)
    if exc.retryable:
        return SendResult.transient(str(exc))
    text = exc.description.lower()
    if exc.status == 403 or "block" in text:
        return SendResult.final(BLOCKED)
    if "not found" in text or ("chat" in text and "invalid" in text):
        return SendResult.final(CHAT_NOT_FOUND)
    if exc.status == 401:
        return SendResult.transient("token refused (401)")  # misconfiguration, not the member
    return SendResult.final(BAD_REQUEST)
