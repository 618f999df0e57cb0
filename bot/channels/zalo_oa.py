"""Zalo Official Account adapter, webhook and outbox side: signed events in, replies and bulk
messages out through `bot.channels.zalo_oa_client` (the API client and its token pair).

Every option is numbered in the text and also sent as an `oa.query.hide` button whose payload
comes back as the member's text, so typing works as well as pressing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web
from redis.exceptions import RedisError

from bot.channels.zalo_common import (
    UNREADABLE,
    FileLinks,
    Inbox,
    Outgoing,
    download_photo,
    render,
)
from bot.channels.zalo_oa_client import ACTION_PREFIX, PAGE_PREFIX, ZaloOaClient, ZaloOaError
from bot.channels.zalo_oa_sender import CHANNEL as CHANNEL
from bot.channels.zalo_oa_sender import classify
from bot.channels.zalo_watch import WebhookWatch
from bot.delivery.sender import SendResult
from bot.engine.conversation import ConversationStore
from bot.engine.dispatcher import Dispatcher
from bot.engine.errors import handle_safely
from bot.engine.messages import Button, FileRef, Incoming, Reply
from bot.privacy.logid import log_id

log = logging.getLogger("dvbot.zalo_oa")

SIGNATURE_HEADER = "X-ZEvent-Signature"
RATE_LIMITED = -32  # the app's rate limit: direct replies wait longer before a retry
# Signed events older than this are refused: Zalo re-sends for up to 12 h, and a captured event
# replayed later must not be handled again once its seen-marker (SEEN_TTL) has expired.
MAX_EVENT_AGE = 13 * 3600
MAX_EVENT_AHEAD = 300  # clocks differ a little
SEEN_TTL = 24 * 3600


def signature(app_id: str, raw: bytes, timestamp: str, secret_key: str) -> str:
    """Zalo's event MAC: plain SHA-256 of app id + body + timestamp + OA secret key."""
    return hashlib.sha256(app_id.encode() + raw + timestamp.encode()
                          + secret_key.encode()).hexdigest()


def webhook_path(secret_key: str) -> str:
    """Unguessable, stable path to register in the Zalo developer console."""
    digest = hashlib.sha256(f"dvbot-zalo-oa-path:{secret_key}".encode()).hexdigest()
    return f"/zalo-oa/{digest[:32]}"


def to_incoming(event: dict[str, Any], session: aiohttp.ClientSession) -> Incoming | None:
    """The neutral form of a webhook event, or None for events the bot ignores."""
    person = event.get("follower") or event.get("sender") or {}
    user_id = str(person.get("id") or "") if isinstance(person, dict) else ""
    name = str(event.get("event_name") or "")
    if not user_id:
        return None
    base = Incoming(channel=CHANNEL, user_id=user_id, chat_id=user_id, buttons=False)
    message = event.get("message") or {}
    if name == "follow":
        return replace(base, text="/start")
    if name == "user_send_text":
        text = str(message.get("text") or "")
        if text.startswith(ACTION_PREFIX):
            return replace(base, action=text[len(ACTION_PREFIX):])
        return replace(base, text=text)
    if name == "user_send_image":
        attachments = message.get("attachments") or [{}]
        url = str((attachments[0].get("payload") or {}).get("url") or "")
        if not url:
            return base
        ref = FileRef(url, "photo", fetch=lambda: download_photo(session, url))
        return replace(base, file=ref, text=message.get("text"))
    if unreadable(event):
        return base
    return None  # unfollow, user_submit_info, seen/received receipts: nothing to answer


def unreadable(event: dict[str, Any]) -> bool:
    """A member's message the bot cannot read (sticker, file, location, voice, video...)."""
    name = str(event.get("event_name") or "")
    return name.startswith("user_send_") and name not in ("user_send_text", "user_send_image")


def interaction(event: dict[str, Any]) -> bool:
    """Does this event open the OA's free window (the member did something)?"""
    name = str(event.get("event_name") or "")
    return name.startswith("user_send_") or name in ("follow", "user_submit_info")


def event_time(event: dict[str, Any]) -> float | None:
    """The signed event's timestamp (Zalo sends epoch milliseconds), in seconds."""
    try:
        return int(str(event.get("timestamp"))) / 1000
    except ValueError:
        return None


def event_id(event: dict[str, Any]) -> str:
    """What identifies a redelivered event: the message id, else sender + time + kind."""
    msg_id = (event.get("message") or {}).get("msg_id")
    if msg_id:
        return str(msg_id)
    sender = (event.get("sender") or event.get("follower") or {}).get("id")
    return f"{event.get('event_name')}:{sender}:{event.get('timestamp')}"


class ZaloOaChannel:
    """Verifies and takes webhook events, runs them through the dispatcher, answers."""

    def __init__(self, client: ZaloOaClient, dispatcher: Dispatcher, *, app_id: str,
                 secret_key: str, files: FileLinks | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self._dispatcher = dispatcher
        self._conversations: ConversationStore = dispatcher.deps.conversations
        self._reach = dispatcher.deps.broadcasts.reach
        self._app_id, self._secret_key = app_id, secret_key
        self._files = files
        self._clock = clock
        self.inbox = Inbox()
        self.watch = WebhookWatch("zalo_oa", dispatcher.deps.metrics)

    def verified(self, raw: bytes, header: str, event: dict[str, Any]) -> bool:
        """Does `X-ZEvent-Signature: mac=<hex>` match the body? (constant time)"""
        expected = signature(self._app_id, raw, str(event.get("timestamp", "")),
                             self._secret_key)
        given = header.removeprefix("mac=").strip()
        return hmac.compare_digest(given.encode(), expected.encode())

    async def on_webhook(self, request: web.Request) -> web.Response:
        """Receive one OA event; every answer is watched (see zalo_watch)."""
        response = await self._webhook(request)
        self.watch.answered(response.status)
        return response

    def fresh(self, event: dict[str, Any]) -> bool:
        """Is the signed timestamp inside the window Zalo's re-sends need?"""
        moment = event_time(event)
        now = self._clock()
        return moment is not None and now - MAX_EVENT_AGE <= moment <= now + MAX_EVENT_AHEAD

    async def _webhook(self, request: web.Request) -> web.Response:
        """One event: signature first, nothing is processed without it; then its age."""
        raw = await request.read()
        try:
            event = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            event = None
        if not isinstance(event, dict) or not self.verified(
                raw, request.headers.get(SIGNATURE_HEADER, ""), event):
            log.warning("rejected a Zalo OA event with a wrong signature from %s",
                        request.remote)
            return web.json_response({"error": 1, "message": "bad signature"}, status=401)
        if not self.fresh(event):
            # Answered 200 so that Zalo stops re-sending; a replay gets nothing out of it.
            log.warning("ignored a signed Zalo OA event with timestamp %s: outside the %d h "
                        "window (a replay, or a clock far off)", event.get("timestamp"),
                        MAX_EVENT_AGE // 3600)
            return web.json_response({"error": 0, "stale": True})
        try:
            first = await self._conversations.first_time(CHANNEL, event_id(event),
                                                         ttl=SEEN_TTL)
            incoming = to_incoming(event, self.client.session) if first else None
            if incoming is not None and interaction(event):
                await self._reach.interacted(CHANNEL, incoming.user_id,
                                             event_time(event) or self._clock())
        except RedisError:
            log.exception("store unavailable; asking Zalo to redeliver the OA event")
            return web.json_response({"error": 1}, status=503)
        if incoming is not None:
            self.inbox.put(incoming.user_id, lambda: self.handle(incoming, unreadable(event)))
        return web.json_response({"error": 0, "duplicate": not first})

    def add_routes(self, app: web.Application) -> None:
        """Mount the webhook on the shared aiohttp server."""
        app.router.add_post(webhook_path(self._secret_key), self.on_webhook)

    async def handle(self, incoming: Incoming, unread: bool = False) -> None:
        """Dispatch one event and answer it; "Lựa chọn khác" pages need no dispatch, and
        what the bot cannot read gets a polite word instead."""
        if unread:
            await self.send(incoming.chat_id, [Reply(UNREADABLE)])
            return
        if incoming.text and incoming.text.startswith(PAGE_PREFIX):
            await self._page(incoming, incoming.text[len(PAGE_PREFIX):])
            return
        replies = await handle_safely(self._dispatcher, incoming)
        await self.send(incoming.chat_id, replies)

    async def _page(self, incoming: Incoming, page: str) -> None:
        options = await self._conversations.options(CHANNEL, incoming.user_id)
        if options is None or not page.isdigit():
            await self.send(incoming.chat_id, [Reply("Danh sách lựa chọn đã hết hiệu lực. "
                                                     "Đồng chí gõ /menu để mở lại menu chính.")])
            return
        buttons = [Button(label, action) for label, action in
                   zip(options.labels, options.actions, strict=True)]
        text = "Các lựa chọn khác (đồng chí cũng có thể trả lời bằng số):"
        await self._try(incoming.chat_id, Outgoing(text, buttons=buttons), int(page))

    async def send(self, chat_id: str, replies: list[Reply]) -> None:
        """Deliver replies in order; only the last reply with buttons gets them as buttons."""
        numbered = max((i for i, r in enumerate(replies) if r.buttons), default=-1)
        metrics = self._dispatcher.deps.metrics  # direct replies are counted too
        for index, reply in enumerate(replies):
            for message in render(reply, numbers=index == numbered, files=self._files,
                                  uploads=True):
                if not await self._try(chat_id, message):
                    return
            metrics.reply(CHANNEL, SendResult.sent())

    async def _try(self, chat_id: str, message: Outgoing, page: int = 0) -> bool:
        for attempt in range(1, 4):
            try:
                await self.client.send(chat_id, message, page)
                return True
            except ZaloOaError as exc:
                if not exc.retryable or attempt == 3:
                    self._dispatcher.deps.metrics.reply(CHANNEL, classify(exc))
                    log.warning("could not answer Zalo OA user %s: %s", log_id(str(chat_id)),
                                exc)
                    return False
                await asyncio.sleep((2.0 if exc.code == RATE_LIMITED else 0.5)
                                    * 2 ** (attempt - 1))
        return False
