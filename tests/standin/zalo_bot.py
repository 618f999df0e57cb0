"""A local stand-in for the Zalo Bot Platform API, driven over real HTTP by the test suite.

`POST /bot<TOKEN>/<method>` with a JSON body; answers `{"ok": true, "result": ...}` or
`{"ok": false, "error_code": ..., "description": ...}`. `getUpdates` hands out ONE update per
call and answers HTTP 408 when none arrives in time, like the real server; there is no offset.
It also serves test images (`/img/<name>`) so photo downloads go over HTTP too, and can post
updates to a bot's webhook, flat or wrapped.
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


@dataclass
class Sent:
    """One message the bot sent."""

    method: str
    chat_id: str
    text: str
    photo: str | None = None


class ZaloBotStandin:
    """The fake server; use as `async with ZaloBotStandin(token) as s:`."""

    def __init__(self, token: str, *, idle: float = 0.3) -> None:
        self.token = token
        self.idle = idle  # how long an empty getUpdates waits before 408 (real: `timeout`)
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[Sent] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_next: list[tuple[int, dict[str, Any]]] = []  # (status, body) for sends
        self.images: dict[str, tuple[bytes, str]] = {"a.png": (PNG, "image/png")}
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
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        payload = await request.json() if request.can_read_body else {}
        async with self._changed:
            self.calls.append((method, payload))
            self._changed.notify_all()
        if method == "getUpdates":
            return await self._get_updates(payload)
        if method in ("sendMessage", "sendPhoto"):
            return await self._send(method, payload)
        if method == "getMe":
            return _ok({"id": self.token.split(":")[0], "account_name": "dvbot_zalo",
                        "account_type": "BASIC", "can_join_groups": False})
        if method in ("setWebhook", "deleteWebhook"):
            return _ok(True)
        return web.json_response({"ok": False, "error_code": 404,
                                  "description": "Method not found"}, status=404)

    async def _get_updates(self, payload: dict[str, Any]) -> web.Response:
        wait = min(float(payload.get("timeout", 30)), self.idle)
        try:
            update = await asyncio.wait_for(self.updates.get(), wait)
        except TimeoutError:
            return web.json_response({"ok": False, "error_code": 408,
                                      "description": "Request timeout"}, status=408)
        return _ok(update)

    async def _send(self, method: str, payload: dict[str, Any]) -> web.Response:
        if self.fail_next:
            status, body = self.fail_next.pop(0)
            return web.json_response(body, status=status)
        text = str(payload.get("text" if method == "sendMessage" else "caption") or "")
        if method == "sendMessage" and not 1 <= len(text) <= MAX_TEXT:
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": "text must be 1-2000 chars"}, status=400)
        async with self._changed:
            self.sent.append(Sent(method, str(payload["chat_id"]), text, payload.get("photo")))
            self._changed.notify_all()
        return _ok({"message_id": f"b{next(self._ids)}", "date": int(time.time() * 1000)})

    async def _image(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.images:
            raise web.HTTPNotFound()
        body, kind = self.images[name]
        return web.Response(body=body, content_type=kind)

    # ------------------------------------------------------------- acting as users
    def update(self, user_id: str, text: str | None = None, *, photo: str | None = None,
               message_id: str | None = None) -> dict[str, Any]:
        """An update as the Bot Platform builds it (text, or a photo URL)."""
        message: dict[str, Any] = {
            "message_id": message_id or f"u{next(self._ids)}",
            "from": {"id": user_id, "display_name": "Người dùng Zalo", "is_bot": False},
            "chat": {"id": user_id, "chat_type": "PRIVATE"},
            "date": int(time.time() * 1000)}
        if photo is not None:
            message.update(photo_url=photo, caption=text or "")
            return {"event_name": "message.image.received", "message": message}
        message["text"] = text
        return {"event_name": "message.text.received", "message": message}

    def user_sends(self, user_id: str, text: str, **kw: Any) -> dict[str, Any]:
        """Queue a text message for getUpdates."""
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

    def _for(self, chat_id: str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    async def post_webhook(self, url: str, update: dict[str, Any], secret: str, *,
                           wrapped: bool = False) -> tuple[int, dict[str, Any]]:
        """POST an update to a bot's webhook the way the platform does."""
        body = {"ok": True, "result": update} if wrapped else update
        async with aiohttp.ClientSession() as session, session.post(
                url, json=body, headers={"X-Bot-Api-Secret-Token": secret}) as response:
            return response.status, await response.json(content_type=None)


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})
