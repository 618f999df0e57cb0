"""Zalo Bot Platform API client: `<api>/bot<TOKEN>/<method>`, JSON in, `{ok, result}` out.

The token lives only in the request path and never in an error message. Error codes are the
documented ones (400, 401, 403 "Internal server error", 404, 408, 429 "Quota exceeded"); an
idle long poll is error 408, answered as HTTP 408 or as HTTP 200 with `error_code` 408.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bot.channels.zalo_common import Outgoing

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
        """429, 5xx, 403 (documented as "Internal server error", not a block) and network
        trouble (status 0) may succeed later."""
        return self.status in (0, 403, 429) or self.status >= 500 or self.code in (403, 429)

    @property
    def quota(self) -> bool:
        """429 "Quota exceeded" (the plan's monthly messages, counted both ways)."""
        return self.status == 429 or self.code == 429


class ZaloBotClient:
    """Minimal async client; the token lives only in the request path."""

    def __init__(self, session: aiohttp.ClientSession, token: str, api_url: str) -> None:
        self._session = session
        self._base = f"{api_url}/bot{token}"
        self.bot_id = token.split(":", 1)[0]
        self.session = session

    async def call(self, method: str, payload: dict[str, Any] | None = None, *,
                   seconds: float = 20.0) -> Any:
        """POST one method; the `result`, or None for error 408 (an idle long poll)."""
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
        if isinstance(body, dict) and not body.get("ok") and body.get("error_code") == 408:
            return None  # an idle long poll, answered with HTTP 200
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
