"""A local stand-in for the Zalo Official Account Open API (message/cs, upload, OAuth), over HTTP.

Built from Zalo's documented tables (the OA error table mirrored in ThinklabsDev/zalo_sdk
`zalo_oa_exception.py`, zaloplatform/zalo-php-sdk, facts in shared/platforms/zalo.md), not from
what our adapter expects. Errors come as HTTP 200 with a non-zero `error`:
- tokens: an access token lives 25 h (`ACCESS_TTL`), then answers -220 "access_token is
  expired or removed"; a token it never issued answers -216 "Access token is invalid". A
  refresh token is single use, rotates on every refresh and dies after 3 months.
- windows and cost: a consultation message is free within 48 h of the user's last
  interaction, billed from 48 h to 7 days (refused with -320 without a Zalo Cloud Account,
  -321 when it has no money), refused after 7 days (-230), or -232 when the user never
  interacted.
- per-user refusals: -213 not a follower, -227 banned or inactive for more than 45 days,
  -218 out of quota to receive; OA-wide: -224 the OA must upgrade its tier package, -211 out
  of quota, -234 no sending at night, -32 the app reached its rate limit.
- uploads (`/v2.0/oa/upload/image`): JPG/PNG up to 1 MB; a media template by URL takes only
  JPG/PNG links.
- as the webhook client it signs events (`X-ZEvent-Signature: mac=sha256(app_id + body +
  timestamp + OA secret key)`), and re-sends an event that was not answered with 200 (Zalo
  does so for up to 12 h), counting the failures.
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
ACCESS_TTL = 25 * 3600
REFRESH_TTL = 90 * 86_400
FREE_WINDOW = 48 * 3600
PAID_WINDOW = 7 * 86_400
MESSAGES = {-32: "Your application reached limit call api", -201: "data is invalid",
            -211: "Out of quota", -213: "User has not followed OA",
            -216: "Access token is invalid", -218: "Out of quota receive",
            -220: "access_token is expired or removed",
            -224: "The OA needs to upgrade OA Tier Package to use this feature",
            -227: "User is banned or has been inactive for more than 45 days",
            -230: "user has not interacted with the OA in the past 7 days",
            -232: "user has not interacted with the OA",
            -234: "This message cannot be sent at night (10:00PM - 6:00AM)",
            -320: "Your app needs to connect with Zalo Cloud Account to use paid features",
            -321: "Zalo Cloud Account associated with this app is out of money or unable to "
                  "be charged"}


@dataclass
class OaSent:
    """One message the OA sent."""

    user_id: str
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    image: str | None = None  # a media template's image URL
    attachment_id: str | None = None  # ... or the id of an uploaded image
    billed: bool = False  # sent between 48 h and 7 days after the user's last interaction


class ZaloOaStandin:
    """`async with ZaloOaStandin() as s:`; `s.url` serves both the API and OAuth."""

    def __init__(self, *, refresh_delay: float = 0.05) -> None:
        self.offset = 0.0  # seconds added to the real clock (`advance`)
        self.refreshes = 0
        self.refresh_delay = refresh_delay  # widens the race between concurrent refreshers
        self.tokens: dict[str, float] = {}  # access token -> issued at
        self.access_token = self._issue_access()
        self.refresh_token = "refresh-0"
        self.refresh_issued = self.now()
        self.interactions: dict[str, float] = {}  # user -> last interaction (None: never)
        self.open_window = True  # users never seen count as inside the free window
        self.cloud_account: str | None = None  # None: not linked (-320), "empty" (-321), "ok"
        self.user_errors: dict[str, int] = {}  # user -> -213 / -227 / -218
        self.oa_error: int | None = None  # -224 / -211 / -234 for every message
        self.rate_limited = 0  # the next N calls answer -32
        self.sent: list[OaSent] = []
        self.rejected: list[int] = []  # error codes answered to message/cs
        self.uploads: dict[str, bytes] = {}  # attachment_id -> uploaded image
        self.images: dict[str, tuple[bytes, str]] = {}  # served at /img/<name>
        self.webhook_failures = 0
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

    # ------------------------------------------------------------------ clock and tokens
    def now(self) -> float:
        """The stand-in's clock."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Let time pass (tokens age, windows close)."""
        self.offset += seconds

    def _issue_access(self) -> str:
        token = f"access-{len(self.tokens)}-{time.time_ns()}"
        self.tokens[token] = self.now()
        return token

    def expire_access_token(self) -> None:
        """The current access token stops working (what 25 hours do)."""
        self.tokens[self.access_token] = self.now() - ACCESS_TTL - 1

    def _token_error(self, request: web.Request) -> int | None:
        issued = self.tokens.get(request.headers.get("access_token", ""))
        if issued is None:
            return -216
        if self.now() - issued > ACCESS_TTL:
            return -220
        return None

    # ------------------------------------------------------------------ the API
    def _refusal(self, user: str) -> int | None:
        """The documented refusal of a consultation message to `user` right now, if any."""
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return -32
        if self.oa_error is not None:
            return self.oa_error
        if user in self.user_errors:
            return self.user_errors[user]
        last = self.interactions.get(user)
        if last is None:
            return None if self.open_window else -232
        age = self.now() - last
        if age > PAID_WINDOW:
            return -230
        if age > FREE_WINDOW and self.cloud_account != "ok":
            return -320 if self.cloud_account is None else -321
        return None

    def billed(self, user: str) -> bool:
        """Would a message to `user` now be billed?"""
        last = self.interactions.get(user)
        return last is not None and FREE_WINDOW < self.now() - last <= PAID_WINDOW

    async def _send(self, request: web.Request) -> web.Response:
        token_error = self._token_error(request)
        if token_error is not None:
            return self._refuse(token_error)
        body = await request.json()
        user = str(body["recipient"]["user_id"])
        refusal = self._refusal(user)
        if refusal is not None:
            return self._refuse(refusal)
        message = body["message"]
        text = str(message.get("text") or "")
        if len(text) > 2000:
            return _error(-201, "text too long")
        payload = (message.get("attachment") or {}).get("payload") or {}
        buttons = payload.get("buttons") or []
        if len(buttons) > 5:
            return _error(-201, "at most 5 buttons")
        elements = payload.get("elements") or [{}]
        attachment, image = elements[0].get("attachment_id"), elements[0].get("url")
        if attachment is not None and attachment not in self.uploads:
            return _error(-201, "unknown attachment_id")
        if image is not None and not str(image).lower().endswith((".jpg", ".jpeg", ".png")):
            return _error(-201, "media template images: jpg/png only")
        async with self._changed:
            self.sent.append(OaSent(user, text, buttons, image, attachment, self.billed(user)))
            self._changed.notify_all()
        return web.json_response({"error": 0, "message": "Success",
                                  "data": {"message_id": f"m{next(self._numbers)}"}})

    def _refuse(self, code: int) -> web.Response:
        self.rejected.append(code)
        return _error(code, MESSAGES[code])

    async def _upload(self, request: web.Request) -> web.Response:
        token_error = self._token_error(request)
        if token_error is not None:
            return self._refuse(token_error)
        form = await request.post()
        file = form.get("file")
        if not isinstance(file, web.FileField):
            return _error(-201, "file is missing")
        data = file.file.read()
        is_image = data.startswith((b"\xff\xd8\xff", b"\x89PNG"))
        if file.content_type not in ("image/jpeg", "image/png") or not is_image \
                or len(data) > 1024 * 1024:
            return _error(-210, "jpg/png up to 1MB")
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
            return _error(-14014, "invalid app")
        if form.get("grant_type") != "refresh_token" or \
                form.get("refresh_token") != self.refresh_token or \
                self.now() - self.refresh_issued > REFRESH_TTL:
            return _error(-14020, "Invalid refresh token")
        await asyncio.sleep(self.refresh_delay)
        self.refreshes += 1
        self.access_token = self._issue_access()
        self.refresh_token = f"refresh-{self.refreshes}"
        self.refresh_issued = self.now()
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
    def event(self, user_id: str, text: str | None = None, *, name: str = "user_send_text",
              msg_id: str | None = None, image: str | None = None,
              attachment: dict[str, Any] | None = None,
              timestamp: float | None = None) -> dict[str, Any]:
        """An event as Zalo posts it; a user's event is an interaction (opens the window).
        `attachment` is one item of `message.attachments` (sticker, file, location, audio)."""
        moment = self.now() if timestamp is None else timestamp
        event: dict[str, Any] = {"app_id": APP_ID, "event_name": name,
                                 "timestamp": str(int(moment * 1000)),
                                 "user_id_by_app": f"app-{user_id}"}
        if name.startswith("user_") or name == "follow":
            self.interactions[user_id] = max(moment, self.interactions.get(user_id, 0.0))
        if name in ("follow", "unfollow"):
            event.update(oa_id="oa-1", follower={"id": user_id}, source="testing")
            return event
        message: dict[str, Any] = {"msg_id": msg_id or f"e{time.time_ns()}"}
        if image is not None:
            attachment = {"type": "image", "payload": {"url": image}}
        if attachment is not None:
            message["attachments"] = [attachment]
        if text is not None or attachment is None:
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
        return await self.post_raw(url, raw, signature if signature is not None
                                   else self.sign(raw, event))

    async def post_raw(self, url: str, raw: bytes, signature: str) -> int:
        """POST exact bytes (a captured event, replayed)."""
        async with aiohttp.ClientSession() as session, session.post(
                url, data=raw, headers={"X-ZEvent-Signature": signature,
                                        "Content-Type": "application/json"}) as response:
            return response.status

    async def deliver(self, url: str, event: dict[str, Any], *, attempts: int = 3,
                      delay: float = 0.05, secret: str = OA_SECRET) -> int:
        """Deliver as Zalo does: signed with the OA secret key `secret`, re-sent while the
        answer is not 200; the last status."""
        raw = json.dumps(event, ensure_ascii=False).encode()
        status = 0
        for _ in range(attempts):
            status = await self.post_raw(url, raw, self.sign(raw, event, secret))
            if status == 200:
                break
            self.webhook_failures += 1
            await asyncio.sleep(delay)
        return status


def _error(code: int, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message})
