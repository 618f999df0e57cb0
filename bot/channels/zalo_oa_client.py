"""Zalo Official Account API client (Open API v3): sending, uploading, renewing tokens.

The token pair and its refreshing live in bot.channels.zalo_oa_tokens; a call refused with
-216 or -220 is retried once with a fresh pair. Errors arrive as HTTP 200 with a non-zero
`error`. Buttons are `oa.query.hide` buttons (at most 5 per message) whose payload comes back
as the member's text (see bot.channels.zalo_oa for the webhook side). Photos are uploaded as
JPEG/PNG of at most 1 MB, converted first when they are not (Zalo refuses the rest).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from bot.channels.zalo_common import Outgoing
from bot.channels.zalo_images import NotConvertible, uploadable_image
from bot.channels.zalo_oa_tokens import (
    ACCESS_LIFETIME,
    TOKEN_ERRORS,
    Tokens,
    TokenStore,
    ZaloOaError,
)
from bot.engine.messages import Button

__all__ = ["TokenStore", "Tokens", "ZaloOaClient", "ZaloOaError", "buttons_page"]

log = logging.getLogger("dvbot.zalo_oa")

ACTION_PREFIX = "#dv:"  # a button payload carrying a packed action (typed, it works too)
PAGE_PREFIX = "#trang:"  # "more options" button: show page N of the options on screen
PER_MESSAGE = 5  # Zalo's limit of buttons per message


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
        """`call(access_token)`; on -216 or -220 the token is refreshed (once, shared) and it
        is called again, once."""
        tokens = await self.tokens.current()
        try:
            return await call(tokens.access_token)
        except ZaloOaError as exc:
            if exc.code not in TOKEN_ERRORS:
                raise
        fresh = await self.tokens.refresh(tokens.access_token, self.renew)
        return await call(fresh.access_token)

    async def send_cs(self, user_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """A customer-service message to one follower."""
        body = {"recipient": {"user_id": user_id}, "message": message}
        return await self._authed(lambda token: self._post(token, body))

    async def upload_image(self, path: Path) -> str:
        """Upload a photo for a media template (as JPG/PNG ≤ 1 MB, converted if need be);
        its `attachment_id`."""
        try:
            data, mime = await asyncio.to_thread(uploadable_image, path)
        except (OSError, NotConvertible) as exc:
            raise ZaloOaError(200, -210, f"not an uploadable image: {exc}") from None

        async def upload(token: str) -> dict[str, Any]:
            form = aiohttp.FormData()  # built per attempt: aiohttp sends a form only once
            name = path.name if mime != "image/jpeg" or path.suffix.lower() in (
                ".jpg", ".jpeg") else f"{path.stem}.jpg"
            form.add_field("file", data, filename=name, content_type=mime)
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
        now = time.time()
        try:
            return Tokens(access_token=data["access_token"], refresh_token=data["refresh_token"],
                          access_at=now, refresh_at=now,
                          expires_in=float(data.get("expires_in") or ACCESS_LIFETIME))
        except (KeyError, ValueError):
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
