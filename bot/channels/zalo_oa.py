"""Zalo Official Account adapter (Open API v3): the only module that knows that API.

Access tokens live ~25 h and are renewed with a single-use, rotating refresh token. The pair
is one JSON value in Redis, replaced in one SET the moment Zalo hands out the new pair, and
only one process refreshes at a time (a Redis lock): concurrent senders that all met -216
wait for that one refresh and use its result. Errors arrive as HTTP 200 with a non-zero
`error`. Buttons are `oa.query.hide` buttons (at most 5 per message) whose payload comes back
as the member's text; every option is also numbered in the text, so typing works as well.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.channels.zalo_common import FileLinks, Inbox, Outgoing, download_photo, render
from bot.conversation import ConversationStore, Options
from bot.delivery.sender import BAD_REQUEST, SendResult
from bot.dispatcher import Dispatcher
from bot.errors import handle_safely
from bot.keys import Keys
from bot.messages import Button, FileRef, Incoming, Reply

log = logging.getLogger("dvbot.zalo_oa")

CHANNEL = "zalo_oa"
SIGNATURE_HEADER = "X-ZEvent-Signature"
ACTION_PREFIX = "#dv:"  # a button payload carrying a packed action (typed, it works too)
PAGE_PREFIX = "#trang:"  # "more options" button: show page N of the options on screen
PER_MESSAGE = 5  # Zalo's limit of buttons per message
TOKEN_EXPIRED = -216
# Replies outside the free window, or to people who do not follow the OA: final, with a reason
# the broadcast report shows. Codes from Zalo's docs and integrators' reports (see zalo.md).
WINDOW_ERRORS = {-213: "zalo_not_follower", -230: "zalo_window_closed",
                 -232: "zalo_window_closed", -211: "zalo_quota", -224: "zalo_quota"}
LOCK_LEASE_MS = 30_000


class ZaloOaError(Exception):
    """An error from the OA API: HTTP status and Zalo's `error` code (0: no JSON answer)."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status}/{code}: {message}")
        self.status, self.code, self.message = status, code, message

    @property
    def retryable(self) -> bool:
        """429, 5xx and network trouble may succeed later; Zalo error codes never do."""
        return self.code == 0 and (self.status in (0, 429) or self.status >= 500)


class Tokens(BaseModel):
    """The OA's OAuth pair; `refresh_token` is single use."""

    access_token: str
    refresh_token: str


class TokenStore:
    """The token pair in Redis, and the one-refresh-at-a-time lock."""

    def __init__(self, redis: Redis, keys: Keys, app_id: str) -> None:
        self._redis = redis
        self._key = keys.zalo_oa_tokens(app_id)
        self._lock = keys.zalo_oa_refresh_lock(app_id)

    async def seed(self, tokens: Tokens) -> None:
        """Store the configured pair unless a newer (rotated) one is already stored."""
        await self._redis.set(self._key, tokens.model_dump_json(), nx=True)

    async def current(self) -> Tokens:
        """The pair in use."""
        raw = await self._redis.get(self._key)
        if raw is None:
            raise ZaloOaError(0, TOKEN_EXPIRED, "no OA tokens stored")
        return Tokens.model_validate_json(raw)

    async def refresh(self, stale: str, renew: Any) -> Tokens:
        """A fresh pair after `stale` was refused: renewed here under the lock, or by whoever
        held the lock meanwhile (then `stale` is no longer the stored access token)."""
        owner = secrets.token_hex(8)
        while True:
            tokens = await self.current()
            if tokens.access_token != stale:
                return tokens
            if await self._redis.set(self._lock, owner, nx=True, px=LOCK_LEASE_MS):
                break
            await asyncio.sleep(0.05)
        try:
            tokens = await self.current()
            if tokens.access_token != stale:
                return tokens
            fresh: Tokens = await renew(tokens.refresh_token)
            # One SET, right away: the old refresh token is already spent at Zalo.
            await self._redis.set(self._key, fresh.model_dump_json())
            log.info("Zalo OA access token refreshed")
            return fresh
        finally:
            if await self._redis.get(self._lock) == owner:
                await self._redis.delete(self._lock)


class ZaloOaClient:
    """Sends through the OA API with the stored token; -216 → refresh and retry once."""

    def __init__(self, session: aiohttp.ClientSession, tokens: TokenStore, *, app_id: str,
                 app_secret: str, api_url: str, oauth_url: str) -> None:
        self.session = session
        self.tokens = tokens
        self._app_id, self._app_secret = app_id, app_secret
        self._api, self._oauth = api_url, oauth_url

    async def send_cs(self, user_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """A customer-service message to one follower."""
        body = {"recipient": {"user_id": user_id}, "message": message}
        tokens = await self.tokens.current()
        try:
            return await self._post(tokens.access_token, body)
        except ZaloOaError as exc:
            if exc.code != TOKEN_EXPIRED:
                raise
        fresh = await self.tokens.refresh(tokens.access_token, self.renew)
        return await self._post(fresh.access_token, body)

    async def send(self, user_id: str, message: Outgoing, page: int = 0) -> None:
        """Send one rendered message, its options as buttons (one page of them)."""
        payload: dict[str, Any] = {"text": message.text}
        if message.photo_url:
            payload = {"text": message.text, "attachment": {"type": "template", "payload": {
                "template_type": "media",
                "elements": [{"media_type": "image", "url": message.photo_url}]}}}
        elif message.buttons:
            payload["attachment"] = {"type": "template", "payload": {
                "buttons": buttons_page(message.buttons, page)}}
        await self.send_cs(user_id, payload)

    async def _post(self, access_token: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._json("POST", f"{self._api}/v3.0/oa/message/cs", json=body,
                                headers={"access_token": access_token})

    async def renew(self, refresh_token: str) -> Tokens:
        """Trade the refresh token for a new pair (the old refresh token dies with it)."""
        data = await self._json("POST", f"{self._oauth}/v4/oa/access_token",
                                data={"refresh_token": refresh_token, "app_id": self._app_id,
                                      "grant_type": "refresh_token"},
                                headers={"secret_key": self._app_secret})
        try:
            return Tokens(access_token=data["access_token"], refresh_token=data["refresh_token"])
        except KeyError:
            raise ZaloOaError(200, -1, "token answer without tokens") from None

    async def _json(self, method: str, url: str, **kw: Any) -> dict[str, Any]:
        try:
            async with self.session.request(method, url, timeout=aiohttp.ClientTimeout(total=20),
                                            **kw) as resp:
                try:
                    data = await resp.json(content_type=None)
                except (json.JSONDecodeError, ValueError):
                    data = None
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ZaloOaError(0, 0, type(exc).__name__) from None
        if status != 200 or not isinstance(data, dict):
            raise ZaloOaError(status, 0, f"HTTP {status}")
        # Zalo reports errors as HTTP 200 with a non-zero `error`.
        if int(data.get("error") or 0) != 0:
            raise ZaloOaError(status, int(data["error"]), str(data.get("message") or ""))
        return data


def buttons_page(buttons: list[Button], page: int) -> list[dict[str, str]]:
    """Up to 5 `oa.query.hide` buttons; beyond 5 options, 4 per page and "Lựa chọn khác"."""
    def button(title: str, payload: str) -> dict[str, str]:
        return {"title": title[:100], "type": "oa.query.hide", "payload": payload}

    if len(buttons) <= PER_MESSAGE:
        return [button(b.label, ACTION_PREFIX + b.action) for b in buttons]
    per = PER_MESSAGE - 1
    pages = (len(buttons) + per - 1) // per
    page %= pages
    start = page * per
    shown = [button(f"{start + i + 1}. {b.label}", ACTION_PREFIX + b.action)
             for i, b in enumerate(buttons[start:start + per])]
    return [*shown, button("Lựa chọn khác ›", f"{PAGE_PREFIX}{(page + 1) % pages}")]


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
    return None  # unfollow, user_submit_info, ...: nothing to answer


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
                 secret_key: str, files: FileLinks | None = None) -> None:
        self.client = client
        self._dispatcher = dispatcher
        self._conversations: ConversationStore = dispatcher.deps.conversations
        self._app_id, self._secret_key = app_id, secret_key
        self._files = files
        self.inbox = Inbox()

    def verified(self, raw: bytes, header: str, event: dict[str, Any]) -> bool:
        """Does `X-ZEvent-Signature: mac=<hex>` match the body? (constant time)"""
        expected = signature(self._app_id, raw, str(event.get("timestamp", "")),
                             self._secret_key)
        given = header.removeprefix("mac=").strip()
        return hmac.compare_digest(given.encode(), expected.encode())

    async def on_webhook(self, request: web.Request) -> web.Response:
        """Receive one OA event: signature first, nothing is processed without it."""
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
        try:
            first = await self._conversations.first_time(CHANNEL, event_id(event))
        except RedisError:
            log.exception("store unavailable; asking Zalo to redeliver the OA event")
            return web.json_response({"error": 1}, status=503)
        incoming = to_incoming(event, self.client.session) if first else None
        if incoming is not None:
            self.inbox.put(incoming.user_id, lambda: self.handle(incoming))
        return web.json_response({"error": 0, "duplicate": not first})

    def add_routes(self, app: web.Application) -> None:
        """Mount the webhook on the shared aiohttp server."""
        app.router.add_post(webhook_path(self._secret_key), self.on_webhook)

    async def handle(self, incoming: Incoming) -> None:
        """Dispatch one event and answer it; "Lựa chọn khác" pages need no dispatch."""
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
        for index, reply in enumerate(replies):
            for message in render(reply, numbers=index == numbered, files=self._files):
                if not await self._try(chat_id, message):
                    return

    async def _try(self, chat_id: str, message: Outgoing, page: int = 0) -> bool:
        for attempt in range(1, 4):
            try:
                await self.client.send(chat_id, message, page)
                return True
            except ZaloOaError as exc:
                if not exc.retryable or attempt == 3:
                    log.warning("could not answer Zalo OA user %s: %s", chat_id, exc)
                    return False
                await asyncio.sleep(0.5 * 2 ** (attempt - 1))
        return False


# --- outbox delivery: broadcasts and notices ----------------------------------------------------
class ZaloOaSender:
    """Delivers outbox messages; window/quota errors are final with their reason."""

    channel = CHANNEL

    def __init__(self, client: ZaloOaClient, conversations: ConversationStore,
                 files: FileLinks | None = None) -> None:
        self._client = client
        self._conversations = conversations
        self._files = files

    async def deliver(self, address: str, reply: Reply, *, paid: bool = False) -> SendResult:
        """Send one outbox message (a long text goes as several Zalo messages)."""
        try:
            for message in render(reply, numbers=True, files=self._files):
                await self._client.send(address, message)
        except ZaloOaError as exc:
            return classify(exc)
        if reply.buttons:
            # The notice is now what is on screen: its "1" must mean its own button.
            await self._conversations.save_options(CHANNEL, address, Options(
                labels=[b.label for row in reply.buttons for b in row],
                actions=[b.action for row in reply.buttons for b in row]))
        return SendResult.sent()


def classify(exc: ZaloOaError) -> SendResult:
    """What an OA error means for a bulk delivery: never retried blindly."""
    if exc.status == 429:
        return SendResult.retry_after(1.0)
    if exc.retryable:
        return SendResult.transient(str(exc))
    if exc.code in WINDOW_ERRORS:
        return SendResult.final(WINDOW_ERRORS[exc.code])
    log.warning("Zalo OA refused a bulk message: %s", exc)
    return SendResult.final(BAD_REQUEST)
