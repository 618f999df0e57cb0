"""A local stand-in for the Zalo Official Account Open API (message/cs and OAuth), over HTTP.

Like the real service it answers errors as HTTP 200 with a non-zero `error`, refuses an
expired access token with -216, hands out a NEW refresh token on every refresh and refuses a
used one, and refuses replies to users outside the free reply window (-230). It takes image
uploads (`/v2.0/oa/upload/image`: JPG/PNG up to 1 MB, answered with an `attachment_id` that a
media template then names), serves test images (`/img/<name>`) for members' photo URLs, and
signs and posts webhook events to the bot the way Zalo does (`X-ZEvent-Signature: mac=<sha256>`).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web

from tests.standin.serve import serve

APP_ID = "4321987650"
APP_SECRET = "AppS3cretForTests"
OA_SECRET = "OaS3cretKeyForTests"


@dataclass
class OaSent:
    """One message the OA sent."""

    user_id: str
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    image: str | None = None  # a media template's image URL
    attachment_id: str | None = None  # ... or the id of an uploaded image


class ZaloOaStandin:
    """`async with ZaloOaStandin() as s:`; `s.url` serves both the API and OAuth."""

    def __init__(self, *, refresh_delay: float = 0.05) -> None:
        self.access_token = "access-0"
        self.refresh_token = "refresh-0"
        self.refreshes = 0
        self.refresh_delay = refresh_delay  # widens the race between concurrent refreshers
        self.closed_window: set[str] = set()
        self.sent: list[OaSent] = []
        self.rejected: list[int] = []  # error codes answered to message/cs
        self.uploads: dict[str, bytes] = {}  # attachment_id -> uploaded image
        self.images: dict[str, tuple[bytes, str]] = {}  # served at /img/<name>
        self._numbers = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/v3.0/oa/message/cs", self._send)
        app.router.add_post("/v4/oa/access_token", self._oauth)
        app.router.add_post("/v2.0/oa/upload/image", self._upload)
        app.router.add_get("/img/{name}", self._image)
        self._runner, self.url = await serve(app)
        return self

    async def __aexit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None
                        ) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def expire_access_token(self) -> None:
        """The current access token stops working (what 25 hours do)."""
        self.access_token = f"access-expired-{next(self._numbers)}"

    async def _send(self, request: web.Request) -> web.Response:
        if request.headers.get("access_token") != self.access_token:
            self.rejected.append(-216)
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        body = await request.json()
        user = str(body["recipient"]["user_id"])
        if user in self.closed_window:
            self.rejected.append(-230)
            return web.json_response({"error": -230, "message": "User has not interacted "
                                      "with the OA in the past 7 days"})
        message = body["message"]
        text = str(message.get("text") or "")
        if len(text) > 2000:
            return web.json_response({"error": -201, "message": "text too long"})
        payload = (message.get("attachment") or {}).get("payload") or {}
        buttons = payload.get("buttons") or []
        if len(buttons) > 5:
            return web.json_response({"error": -201, "message": "at most 5 buttons"})
        elements = payload.get("elements") or [{}]
        attachment = elements[0].get("attachment_id")
        if attachment is not None and attachment not in self.uploads:
            return web.json_response({"error": -201, "message": "unknown attachment_id"})
        async with self._changed:
            self.sent.append(OaSent(user, text, buttons, elements[0].get("url"), attachment))
            self._changed.notify_all()
        return web.json_response({"error": 0, "message": "Success",
                                  "data": {"message_id": f"m{next(self._numbers)}"}})

    async def _upload(self, request: web.Request) -> web.Response:
        if request.headers.get("access_token") != self.access_token:
            self.rejected.append(-216)
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        form = await request.post()
        file = form.get("file")
        if not isinstance(file, web.FileField):
            return web.json_response({"error": -201, "message": "file is missing"})
        data = file.file.read()
        if file.content_type not in ("image/jpeg", "image/png") or len(data) > 1024 * 1024:
            return web.json_response({"error": -210, "message": "jpg/png up to 1MB"})
        attachment_id = f"att-{next(self._numbers)}"
        self.uploads[attachment_id] = data
        return web.json_response({"error": 0, "message": "Success",
                                  "data": {"attachment_id": attachment_id}})

    async def _image(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.images:
            raise web.HTTPNotFound()
        body, kind = self.images[name]
        return web.Response(body=body, content_type=kind)

    async def _oauth(self, request: web.Request) -> web.Response:
        form = await request.post()
        if request.headers.get("secret_key") != APP_SECRET or form.get("app_id") != APP_ID:
            return web.json_response({"error": -14014, "message": "invalid app"})
        if form.get("grant_type") != "refresh_token" or \
                form.get("refresh_token") != self.refresh_token:
            return web.json_response({"error": -14020, "message": "Invalid refresh token"})
        await asyncio.sleep(self.refresh_delay)
        self.refreshes += 1
        self.access_token = f"access-{self.refreshes}"
        self.refresh_token = f"refresh-{self.refreshes}"
        return web.json_response({"access_token": self.access_token,
                                  "refresh_token": self.refresh_token, "expires_in": "90000"})

    async def wait_sent(self, user_id: str, count: int = 1,
                        timeout: float = 5.0) -> list[OaSent]:  # noqa: ASYNC109
        """The next `count` messages to `user_id` (consumed)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(
                lambda: len([s for s in self.sent if s.user_id == user_id]) >= count), timeout)
            mine = [s for s in self.sent if s.user_id == user_id][:count]
            for message in mine:
                self.sent.remove(message)
            return mine

    # ---------------------------------------------------------------- webhook events
    @staticmethod
    def event(user_id: str, text: str | None = None, *, name: str = "user_send_text",
              msg_id: str | None = None, image: str | None = None) -> dict[str, Any]:
        """An event as Zalo posts it."""
        event: dict[str, Any] = {"app_id": APP_ID, "event_name": name,
                                 "timestamp": str(int(time.time() * 1000)),
                                 "user_id_by_app": f"app-{user_id}"}
        if name == "follow":
            event.update(oa_id="oa-1", follower={"id": user_id}, source="testing")
            return event
        message: dict[str, Any] = {"msg_id": msg_id or f"e{time.time_ns()}"}
        if image is not None:
            message.update(text=text or "", attachments=[{"type": "image",
                                                           "payload": {"url": image}}])
        else:
            message["text"] = text
        event.update(sender={"id": user_id}, recipient={"id": "oa-1"}, message=message)
        return event

    @staticmethod
    def sign(raw: bytes, event: dict[str, Any], secret: str = OA_SECRET) -> str:
        """The X-ZEvent-Signature header value."""
        digest = hashlib.sha256(APP_ID.encode() + raw + str(event["timestamp"]).encode()
                                + secret.encode()).hexdigest()
        return f"mac={digest}"

    async def post_event(self, url: str, event: dict[str, Any], *,
                         signature: str | None = None) -> int:
        """POST an event to the bot's webhook, signed (or with `signature`)."""
        raw = json.dumps(event, ensure_ascii=False).encode()
        header = signature if signature is not None else self.sign(raw, event)
        async with aiohttp.ClientSession() as session, session.post(
                url, data=raw, headers={"X-ZEvent-Signature": header,
                                        "Content-Type": "application/json"}) as response:
            return response.status
