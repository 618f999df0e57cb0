"""Zalo Official Account API client (Open API v3): sending, and the OAuth token pair.

Access tokens live ~25 h and are renewed with a single-use, rotating refresh token. The pair
is one JSON value in Redis, replaced in one SET the moment Zalo hands out the new pair, and
only one process refreshes at a time (a Redis lock): concurrent senders that all met -216
wait for that one refresh and use its result. Errors arrive as HTTP 200 with a non-zero
`error`. Buttons are `oa.query.hide` buttons (at most 5 per message) whose payload comes back
as the member's text (see bot.channels.zalo_oa for the webhook side).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import BaseModel
from redis.asyncio import Redis

from bot.channels.zalo_common import Outgoing
from bot.engine.messages import Button
from bot.storage.keys import Keys

log = logging.getLogger("dvbot.zalo_oa")

ACTION_PREFIX = "#dv:"  # a button payload carrying a packed action (typed, it works too)
PAGE_PREFIX = "#trang:"  # "more options" button: show page N of the options on screen
PER_MESSAGE = 5  # Zalo's limit of buttons per message
TOKEN_EXPIRED = -216
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

    async def _authed(self, call: Callable[[str], Awaitable[dict[str, Any]]]
                      ) -> dict[str, Any]:
        """`call(access_token)`; on -216 the token is refreshed (once, shared) and it is
        called again, once."""
        tokens = await self.tokens.current()
        try:
            return await call(tokens.access_token)
        except ZaloOaError as exc:
            if exc.code != TOKEN_EXPIRED:
                raise
        fresh = await self.tokens.refresh(tokens.access_token, self.renew)
        return await call(fresh.access_token)

    async def send_cs(self, user_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """A customer-service message to one follower."""
        body = {"recipient": {"user_id": user_id}, "message": message}
        return await self._authed(lambda token: self._post(token, body))

    async def upload_image(self, path: Path) -> str:
        """Upload a JPG/PNG (≤ 1 MB) for a media template; its `attachment_id`."""
        data = await asyncio.to_thread(path.read_bytes)
        mime = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"

        async def upload(token: str) -> dict[str, Any]:
            form = aiohttp.FormData()  # built per attempt: aiohttp sends a form only once
            form.add_field("file", data, filename=path.name, content_type=mime)
            return await self._json("POST", f"{self._api}/v2.0/oa/upload/image", data=form,
                                    headers={"access_token": token})

        answer = await self._authed(upload)
        attachment_id = (answer.get("data") or {}).get("attachment_id")
        if not attachment_id:
            raise ZaloOaError(200, -1, "upload answer without attachment_id")
        return str(attachment_id)

    async def send(self, user_id: str, message: Outgoing, page: int = 0) -> None:
        """Send one rendered message, its options as buttons (one page of them)."""
        payload: dict[str, Any] = {"text": message.text}
        element: dict[str, str] | None = None
        if message.photo_path is not None:
            element = {"media_type": "image",
                       "attachment_id": await self.upload_image(message.photo_path)}
        elif message.photo_url:
            element = {"media_type": "image", "url": message.photo_url}
        if element is not None:
            payload["attachment"] = {"type": "template", "payload": {
                "template_type": "media", "elements": [element]}}
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
