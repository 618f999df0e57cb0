"""A local stand-in for the Zalo Bot Platform API, driven over real HTTP by the test suite.

Built from Zalo's own documentation (a copy: lamdt1/ckvn-bot docs/zalo-bot-doc.md; facts in
shared/platforms/zalo.md), not from what our adapter expects:
- `POST /bot<TOKEN>/<method>` with a JSON body; answers `{"ok": true, "result": ...}` or
  `{"ok": false, "error_code": ..., "description": ...}` with the documented codes: 400 bad
  request, 401 token invalid, 403 "Internal server error", 404 not found, 408 request timeout,
  429 "Quota exceeded". There is no `parameters.retry_after`.
- `getUpdates` hands out ONE update per call; an idle poll is error 408. The HTTP status of
  that answer is not documented, so the stand-in answers it either way (`idle_status`: 408, or
  200 with `error_code` 408). There is no offset. getUpdates fails while a webhook is set.
- `setWebhook {url, secret_token (8–256 chars)}`, `deleteWebhook`, `getWebhookInfo`.
- Updates: `message.text.received`, `message.image.received` (the doc's table names the
  field `photo`, the SDK and live payloads `photo_url`: both can be produced),
  `message.sticker.received` (`sticker`, `url`), `message.unsupported.received`.
- The free plan's monthly quota counts messages in BOTH directions (an operator's report);
  past it every send answers 429 "Quota exceeded".
- As a webhook it POSTs with `X-Bot-Api-Secret-Token`, and re-sends failed deliveries a few
  times (the retry policy is undocumented), counting the failures.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web

from tests.standin.serve import serve

MAX_TEXT = 2000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
# The documented error table (error_code -> description).
ERRORS = {400: "Bad request", 401: "Unauthorized", 403: "Internal server error",
          404: "Not found", 408: "Request timeout", 429: "Quota exceeded"}


@dataclass
class Sent:
    """One message the bot sent."""

    method: str
    chat_id: str
    text: str
    photo: str | None = None


def error(code: int, description: str | None = None) -> tuple[int, dict[str, Any]]:
    """A documented error answer: (HTTP status, body)."""
    return code, {"ok": False, "error_code": code, "description": description or ERRORS[code]}


class ZaloBotStandin:
    """The fake server; use as `async with ZaloBotStandin(token) as s:`."""

    def __init__(self, token: str, *, idle: float = 0.3, idle_status: int = 408,
                 monthly_quota: int | None = None) -> None:
        self.token = token
        self.idle = idle  # how long an empty getUpdates waits before 408 (real: `timeout`)
        self.idle_status = idle_status  # HTTP status of the idle answer: 408 or 200
        self.monthly_quota = monthly_quota  # messages per month, both directions
        self.used = 0  # messages counted against the quota
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[Sent] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_next: list[tuple[int, dict[str, Any]]] = []  # (status, body) for sends
        self.images: dict[str, tuple[bytes, str]] = {"a.png": (PNG, "image/png")}
        self.webhook: dict[str, str] = {}  # url, secret_token once set
        self.webhook_failures = 0  # deliveries our webhook did not answer with 200
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ------------------------------------------------------------------ server
    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._api)
        app.router.add_get("/img/{name}", self._image)
        self._runner, self.url = await serve(app)
        return self

    async def __aexit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None
                        ) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(*error(401))
        method = request.match_info["method"]
        payload = await request.json() if request.can_read_body else {}
        async with self._changed:
            self.calls.append((method, payload))
            self._changed.notify_all()
        if method == "getUpdates":
            return await self._get_updates(payload)
        if method in ("sendMessage", "sendPhoto", "sendSticker"):
            return await self._send(method, payload)
        if method == "getMe":
            return _ok({"id": self.token.split(":")[0], "account_name": "dvbot_zalo",
                        "account_type": "BASIC", "can_join_groups": False})
        if method in ("setWebhook", "deleteWebhook", "getWebhookInfo"):
            return self._webhook_method(method, payload)
        return _error(*error(404))

    def _webhook_method(self, method: str, payload: dict[str, Any]) -> web.Response:
        if method == "setWebhook":
            url, secret = str(payload.get("url") or ""), str(payload.get("secret_token") or "")
            if not url.startswith("https://") or not 8 <= len(secret) <= 256:
                return _error(*error(400, "url must be https, secret_token 8-256 chars"))
            self.webhook = {"url": url, "secret_token": secret}
        elif method == "deleteWebhook":
            self.webhook = {}
        return _ok({"url": self.webhook.get("url", ""), "updated_at": _now_ms()})

    async def _get_updates(self, payload: dict[str, Any]) -> web.Response:
        if self.webhook:
            return _error(*error(400, "getUpdates is not available while a webhook is set"))
        wait = min(float(payload.get("timeout", 30)), self.idle)
        try:
            update = await asyncio.wait_for(self.updates.get(), wait)
        except TimeoutError:
            _status, body = error(408)
            return web.json_response(body, status=self.idle_status)
        return _ok(update)

    async def _send(self, method: str, payload: dict[str, Any]) -> web.Response:
        if self.fail_next:
            return _error(*self.fail_next.pop(0))
        if self.monthly_quota is not None and self.used >= self.monthly_quota:
            return _error(*error(429))
        text = str(payload.get("text" if method == "sendMessage" else "caption") or "")
        if method == "sendMessage" and not 1 <= len(text) <= MAX_TEXT:
            return _error(*error(400, "text must be 1-2000 chars"))
        async with self._changed:
            self.used += 1
            self.sent.append(Sent(method, str(payload["chat_id"]), text, payload.get("photo")))
            self._changed.notify_all()
        return _ok({"message_id": f"b{next(self._ids)}", "date": _now_ms()})

    async def _image(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.images:
            raise web.HTTPNotFound()
        body, kind = self.images[name]
        return web.Response(body=body, content_type=kind)

    # ------------------------------------------------------------- acting as users
    def update(self, user_id: str, text: str | None = None, *, photo: str | None = None,
               photo_field: str = "photo_url", sticker: str | None = None,
               unsupported: bool = False, message_id: str | None = None) -> dict[str, Any]:
        """An update as the Bot Platform builds it: text, a photo (under `photo_field`,
        "photo" as the doc's table says or "photo_url" as the SDK reads), a sticker, or an
        unsupported message."""
        message: dict[str, Any] = {
            "message_id": message_id or f"u{next(self._ids)}",
            "from": {"id": user_id, "display_name": "Người dùng Zalo", "is_bot": False},
            "chat": {"id": user_id, "chat_type": "PRIVATE"},
            "date": _now_ms()}
        if self.monthly_quota is not None:
            self.used += 1  # incoming messages count too
        if photo is not None:
            message.update({photo_field: photo, "caption": text or ""})
            return {"event_name": "message.image.received", "message": message}
        if sticker is not None:
            message.update(sticker=sticker, url=f"https://zalo-api.zadn.vn/sticker/{sticker}")
            return {"event_name": "message.sticker.received", "message": message}
        if unsupported:
            return {"event_name": "message.unsupported.received", "message": message}
        message["text"] = text
        return {"event_name": "message.text.received", "message": message}

    def user_sends(self, user_id: str, text: str | None = None, **kw: Any) -> dict[str, Any]:
        """Queue a message for getUpdates."""
        update = self.update(user_id, text, **kw)
        self.updates.put_nowait(update)
        return update

    async def wait_sent(self, chat_id: str, count: int = 1,
                        timeout: float = 5.0) -> list[Sent]:  # noqa: ASYNC109
        """The next `count` messages to `chat_id` (consumed)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(
                lambda: len(self._for(chat_id)) >= count), timeout)
            mine = self._for(chat_id)[:count]
            for message in mine:
                self.sent.remove(message)
            return mine

    async def wait_call(self, method: str, timeout: float = 10.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Wait until `method` has been called at least once; its last payload."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(
                lambda: any(m == method for m, _ in self.calls)), timeout)
            return [p for m, p in self.calls if m == method][-1]

    def count(self, method: str) -> int:
        """How many times `method` was called."""
        return sum(1 for m, _ in self.calls if m == method)

    def _for(self, chat_id: str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    async def post_webhook(self, url: str, update: dict[str, Any], secret: str, *,
                           wrapped: bool = False) -> tuple[int, dict[str, Any]]:
        """POST an update to a bot's webhook the way the platform does."""
        body = {"ok": True, "result": update} if wrapped else update
        async with aiohttp.ClientSession() as session, session.post(
                url, json=body, headers={"X-Bot-Api-Secret-Token": secret}) as response:
            return response.status, await response.json(content_type=None)

    async def deliver(self, url: str, update: dict[str, Any], *, attempts: int = 3,
                      delay: float = 0.05) -> int:
        """Deliver an update to the registered webhook as the platform would: with the
        registered secret, re-sent while the answer is not 200; the last status."""
        status = 0
        for _ in range(attempts):
            status, _body = await self.post_webhook(url, update, self.webhook["secret_token"],
                                                    wrapped=True)
            if status == 200:
                break
            self.webhook_failures += 1
            await asyncio.sleep(delay)
        return status


def _now_ms() -> int:
    return int(time.time() * 1000)


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status)
