"""A local stand-in for the Telegram Bot API, used by the test suite.

The real python-telegram-bot ``Application`` talks to it over real HTTP::

    async with BotApiStandin(token="123:ABC", username="dvbot_test_bot") as s:
        app = Application.builder().token("123:ABC").base_url(s.api_base).build()
        ...
        s.user_sends(42, "/start")            # act as a user (queued for getUpdates)
        [reply] = await s.wait_sent(42, 1)    # wait for what the bot answered

Requests are parsed the way Telegram does (form-urlencoded, multipart or JSON bodies, with
non-string values JSON-encoded), answers use Telegram's ``{"ok": ..., "result": ...}`` /
``{"ok": false, "error_code": ..., "description": ...}`` envelopes, and the common error
cases (empty/long text, invalid callback data, blocked user, unknown message, 429) are
reproduced with Telegram's own descriptions so the bot's error handling is exercised for real.
For broadcast tests and benchmarks it can also enforce a send rate (``enforce_rate``: 429 with
``retry_after`` above it, like Telegram) and inject random 429s and 5xx errors
(``inject_random_faults``).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import math
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

from aiohttp import web

JsonDict = dict[str, Any]

#: Parameters that are always kept as raw strings (never JSON-decoded).
STRING_FIELDS = frozenset(
    {"text", "caption", "parse_mode", "callback_query_id", "url", "secret_token", "action",
     "inline_message_id", "language_code", "file_id", "ip_address", "business_connection_id"}
)
MAX_TEXT, MAX_CAPTION, MAX_CALLBACK_DATA = 4096, 1024, 64
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses bigger files, like the cloud Bot API
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SEND_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument"})
#: The tags of parse_mode HTML (Bot API, "HTML style"); anything else is refused.
HTML_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code",
                       "pre", "tg-spoiler", "span", "blockquote", "tg-emoji"})
_HTML_TAG = re.compile(r"<(/?)([A-Za-z][\w-]*)[^<>]*>")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """An error answered with Telegram's error envelope."""

    def __init__(self, status: int, description: str, parameters: JsonDict | None = None):
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters

    def response(self) -> web.Response:
        """Render as ``{"ok": false, "error_code": ..., "description": ...}``."""
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return web.json_response(body, status=self.status)


@dataclass
class ApiCall:
    """One request received by the stand-in; ``status`` is the HTTP status it answered."""

    method: str
    params: JsonDict
    time: float
    status: int = 200


@dataclass
class FileInfo:
    """A file known to the stand-in (uploaded by the bot or "sent" by a user)."""

    file_id: str
    file_name: str | None
    mime_type: str | None
    file_size: int
    file_path: str = ""


@dataclass
class SentMessage:
    """A message sent by the bot. ``text`` holds the caption for documents/photos.

    ``method`` is the API method that produced it; for entries of ``edited`` (and edit
    entries returned by ``wait_sent``) it is the edit method, e.g. ``"editMessageText"``.
    ``reply_markup`` is whatever the bot sent (inline or reply keyboard), as a dict.
    """

    chat_id: int
    message_id: int
    text: str | None
    reply_markup: JsonDict | None
    parse_mode: str | None
    method: str
    date: int
    document: FileInfo | None = None
    photo: FileInfo | None = None
    edit_date: int | None = None


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode(name: str, value: Any) -> Any:
    """JSON-decode a form value unless it is a known string field or does not look like JSON."""
    if isinstance(value, bytes | bytearray):
        value = value.decode()
    if not isinstance(value, str) or name in STRING_FIELDS:
        return value
    stripped = value.strip()
    if stripped[:1] in ("{", "[", "-") or stripped[:1].isdigit() or stripped in (
        "true", "false", "null"
    ):
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    return value


class BotApiStandin:
    """An in-process fake Telegram Bot API server (see the module docstring)."""

    def __init__(self, token: str = "123456:TEST", username: str = "dvbot_test_bot") -> None:
        self.token, self.username = token, username
        self.bot_user: JsonDict = {
            "id": int(token.split(":", 1)[0]), "is_bot": True, "first_name": "dvbot test",
            "username": username, "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False,
        }
        self.url = self.api_base = self.file_base = ""
        self.calls: list[ApiCall] = []
        self.sent: list[SentMessage] = []  #: bot messages, current state (edits applied)
        self.edited: list[SentMessage] = []  #: snapshot after every successful edit
        self.failures: list[ApiCall] = []  #: calls answered with an injected fault
        self.commands: list[JsonDict] = []  #: last setMyCommands payload
        self.blocked_chats: set[int] = set()
        self.updates: list[JsonDict] = []  #: pending updates, not yet confirmed by offset
        self.webhook_url: str = ""
        self.webhook_secret: str | None = None
        self._outbox: dict[int, list[SentMessage]] = {}  # snapshots of sends+edits per chat
        self._sent_cursor: dict[int, int] = {}
        self._call_cursor: dict[str, int] = {}
        self._faults: dict[str, deque[ApiError]] = {}
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1000)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._users: dict[int, JsonDict] = {}
        self._files: dict[str, tuple[FileInfo, bytes | None]] = {}
        self._query_ids: set[str] = set()
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        # Rate enforcement and random faults (off by default; see enforce_rate and
        # inject_random_faults). 429s answered for exceeding the rate go to `rate_limited`.
        self.rate_limited: list[ApiCall] = []
        self._rate = self._burst = self._tokens = self._per_chat = 0.0
        self._rate_at = 0.0
        self._chat_last: dict[Any, float] = {}
        self._random: random.Random | None = None
        self._p429 = self._p5xx = 0.0
        self._random_retry_after = 1
        handlers: dict[str, Callable[[JsonDict], Awaitable[Any]]] = {
            "getMe": self._get_me, "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook, "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._webhook_info, "sendMessage": self._send_message,
            "editMessageText": self._edit_text, "editMessageReplyMarkup": self._edit_markup,
            "answerCallbackQuery": self._answer_callback, "setMyCommands": self._set_commands,
            "getMyCommands": self._get_commands, "deleteMyCommands": self._delete_commands,
            "sendDocument": self._send_document, "sendPhoto": self._send_photo,
            "sendChatAction": self._true, "getFile": self._get_file,
            "close": self._true, "logOut": self._true,
        }
        self._handlers = {name.lower(): handler for name, handler in handlers.items()}

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Serve on 127.0.0.1 on a free port; sets ``url``, ``api_base`` and ``file_base``."""
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)  # uploads up to Telegram's 50 MB
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self.api_base, self.file_base = f"{self.url}/bot", f"{self.url}/file/bot"

    async def stop(self) -> None:
        """Release pending long polls and shut the server down."""
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ HTTP layer
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = ApiCall(method, await self._read_params(request), time.time())
        self.calls.append(call)
        self._notify()
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            handler = self._handlers.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            faults = self._faults.get(method.lower())
            if faults:
                self.failures.append(call)
                raise faults.popleft()
            if method.lower() in _SEND_METHODS:
                self._random_fault(call)
                self._check_rate(call)
            response = web.json_response({"ok": True, "result": await handler(call.params)})
        except ApiError as err:
            call.status, response = err.status, err.response()
        self._notify()
        return response

    async def _read_params(self, request: web.Request) -> JsonDict:
        raw: JsonDict = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            raw.update(body if isinstance(body, dict) else {})
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    data = value.file.read()
                    folder = "photos" if key == "photo" else "documents"
                    raw[key] = self._new_file(value.filename, value.content_type, data, folder)
                else:
                    raw[key] = value
        return {key: _decode(key, value) for key, value in raw.items()}

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        for info, content in self._files.values():
            if info.file_path == request.match_info["file_path"]:
                return web.Response(body=content if content is not None else bytes(info.file_size))
        return ApiError(404, "Not Found").response()

    # ----------------------------------------------------------------- validation
    def _chat_id(self, p: JsonDict) -> int:
        chat_id = p.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    @staticmethod
    def _check_html(text: str) -> None:
        """Telegram refuses HTML whose tags do not balance ("can't parse entities")."""
        open_tags: list[str] = []
        for match in _HTML_TAG.finditer(text):
            closing, name = match.group(1), match.group(2).lower()
            where = len(text[:match.start()].encode())
            if name not in HTML_TAGS:
                raise ApiError(400, "Bad Request: can't parse entities: Unsupported start tag "
                                    f'"{name}" at byte offset {where}')
            if not closing:
                open_tags.append(name)
            elif open_tags and open_tags[-1] == name:
                open_tags.pop()
            else:
                expected = f', expected "</{open_tags[-1]}>"' if open_tags else ""
                raise ApiError(400, "Bad Request: can't parse entities: Unmatched end tag at "
                                    f'byte offset {where}{expected}, found "</{name}>"')
        if "<" in _HTML_TAG.sub("", text):
            raise ApiError(400, "Bad Request: can't parse entities: Unclosed start tag")
        if open_tags:
            raise ApiError(400, "Bad Request: can't parse entities: Can't find end tag "
                                f'corresponding to start tag "{open_tags[-1]}"')

    @classmethod
    def _check_text(cls, text: str, *, caption: bool = False,
                    parse_mode: str | None = None) -> None:
        if parse_mode == "HTML":
            cls._check_html(text)
        if caption:
            if _utf16_len(text) > MAX_CAPTION:
                raise ApiError(400, "Bad Request: message caption is too long")
        elif not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        elif _utf16_len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")

    @staticmethod
    def _check_markup(markup: Any) -> JsonDict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    # -------------------------------------------------------------------- methods
    async def _true(self, p: JsonDict) -> bool:
        return True

    async def _get_me(self, p: JsonDict) -> JsonDict:
        return self.bot_user

    async def _get_updates(self, p: JsonDict) -> list[JsonDict]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = int(p.get("offset") or 0)
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = float(p.get("timeout") or 0)
        if timeout > 0:
            await self._wait(lambda: bool(self.updates) or self._closing, timeout)
        return self.updates[:limit]

    async def _set_webhook(self, p: JsonDict) -> bool:
        self.webhook_url, self.webhook_secret = str(p.get("url") or ""), p.get("secret_token")
        return True

    async def _delete_webhook(self, p: JsonDict) -> bool:
        self.webhook_url, self.webhook_secret = "", None
        if p.get("drop_pending_updates"):
            self.updates.clear()
        return True

    async def _webhook_info(self, p: JsonDict) -> JsonDict:
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self.updates)}

    async def _send_message(self, p: JsonDict) -> JsonDict:
        chat_id = self._chat_id(p)
        text = str(p.get("text") or "")
        self._check_text(text, parse_mode=p.get("parse_mode"))
        markup = self._check_markup(p.get("reply_markup"))
        return self._store(SentMessage(chat_id, self._next_message_id(chat_id), text, markup,
                                       p.get("parse_mode"), "sendMessage", int(time.time())))

    async def _send_document(self, p: JsonDict) -> JsonDict:
        return self._send_media(p, "document", "sendDocument")

    async def _send_photo(self, p: JsonDict) -> JsonDict:
        return self._send_media(p, "photo", "sendPhoto")

    def _send_media(self, p: JsonDict, kind: str, method: str) -> JsonDict:
        chat_id = self._chat_id(p)
        media = p.get(kind)
        if isinstance(media, str) and media in self._files:
            media = self._files[media][0]
        elif isinstance(media, str) and media.startswith(("http://", "https://")):
            media = self._new_file(media.rsplit("/", 1)[-1], None, b"", f"{kind}s")
        if not isinstance(media, FileInfo):
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        caption = p.get("caption")
        self._check_text(caption or "", caption=True, parse_mode=p.get("parse_mode"))
        msg = SentMessage(chat_id, self._next_message_id(chat_id), caption,
                          self._check_markup(p.get("reply_markup")), p.get("parse_mode"),
                          method, int(time.time()))
        if kind == "photo":
            msg.photo = media
        else:
            msg.document = media
        return self._store(msg)

    async def _edit_text(self, p: JsonDict) -> JsonDict:
        msg = self._find(p)
        if msg.document or msg.photo:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = str(p.get("text") or "")
        self._check_text(text, parse_mode=p.get("parse_mode"))
        return self._edit(msg, "editMessageText", text, self._check_markup(p.get("reply_markup")),
                          p.get("parse_mode"))

    async def _edit_markup(self, p: JsonDict) -> JsonDict:
        msg = self._find(p)
        return self._edit(msg, "editMessageReplyMarkup", msg.text,
                          self._check_markup(p.get("reply_markup")), msg.parse_mode)

    async def _answer_callback(self, p: JsonDict) -> bool:
        if str(p.get("callback_query_id")) not in self._query_ids:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired "
                                "or query ID is invalid")
        return True

    async def _set_commands(self, p: JsonDict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: parameter \"commands\" is required")
        for command in commands:
            if not _COMMAND_RE.match(str(command.get("command", "")).removeprefix("/")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands = commands
        return True

    async def _get_commands(self, p: JsonDict) -> list[JsonDict]:
        return self.commands

    async def _delete_commands(self, p: JsonDict) -> bool:
        self.commands = []
        return True

    async def _get_file(self, p: JsonDict) -> JsonDict:
        if str(p.get("file_id")) not in self._files:
            raise ApiError(400, "Bad Request: wrong file_id or the file is temporarily unavailable")
        info = self._files[str(p["file_id"])][0]
        if info.file_size > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": info.file_id, "file_unique_id": f"U{info.file_id}",
                "file_size": info.file_size, "file_path": info.file_path}

    # ---------------------------------------------------------- message bookkeeping
    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _new_file(self, name: str | None, mime: str | None, content: bytes | None,
                  folder: str, size: int | None = None) -> FileInfo:
        n = next(self._ids)
        suffix = "." + name.rsplit(".", 1)[-1] if name and "." in name else ".jpg"
        info = FileInfo(f"BQACAgIAAx{n:06d}", name, mime,
                        len(content) if content is not None else size or 0,
                        f"{folder}/file_{n}{suffix}")
        self._files[info.file_id] = (info, content)
        return info

    def _store(self, msg: SentMessage) -> JsonDict:
        self.sent.append(msg)
        self._outbox.setdefault(msg.chat_id, []).append(copy.deepcopy(msg))
        return self.message_json(msg)

    def _find(self, p: JsonDict) -> SentMessage:
        chat_id, message_id = self._chat_id(p), p.get("message_id")
        for msg in reversed(self.sent):
            if msg.chat_id == chat_id and msg.message_id == message_id:
                return msg
        raise ApiError(400, "Bad Request: message to edit not found")

    def _edit(self, msg: SentMessage, method: str, text: str | None,
              markup: JsonDict | None, parse_mode: str | None) -> JsonDict:
        # Like Telegram: omitting reply_markup in an edit removes the inline keyboard.
        if text == msg.text and markup == msg.reply_markup:
            raise ApiError(400, _NOT_MODIFIED)
        msg.text, msg.reply_markup, msg.parse_mode = text, markup, parse_mode
        msg.edit_date = int(time.time())
        snapshot = copy.deepcopy(msg)
        snapshot.method = method
        self.edited.append(snapshot)
        self._outbox.setdefault(msg.chat_id, []).append(snapshot)
        return self.message_json(msg)

    def _chat_json(self, chat_id: int) -> JsonDict:
        if chat_id < 0:
            return {"id": chat_id, "type": "supergroup" if chat_id < -10**12 else "group",
                    "title": "Test group"}
        user = self._users.get(chat_id, {"first_name": "Test"})
        chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        return chat | ({"username": user["username"]} if user.get("username") else {})

    def message_json(self, msg: SentMessage) -> JsonDict:
        """The bot message as Telegram serialises it (entities omitted)."""
        out: JsonDict = {"message_id": msg.message_id, "from": self.bot_user,
                         "chat": self._chat_json(msg.chat_id), "date": msg.date}
        if msg.edit_date:
            out["edit_date"] = msg.edit_date
        if msg.document:
            out["document"] = self._file_json(msg.document)
        if msg.photo:
            out["photo"] = self._photo_json(msg.photo)
        if msg.text is not None:
            out["caption" if msg.document or msg.photo else "text"] = msg.text
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            out["reply_markup"] = msg.reply_markup  # Telegram echoes inline keyboards only
        return out

    @staticmethod
    def _file_json(info: FileInfo) -> JsonDict:
        out = {"file_id": info.file_id, "file_unique_id": f"U{info.file_id}",
               "file_size": info.file_size}
        if info.file_name:
            out["file_name"] = info.file_name
        return out | ({"mime_type": info.mime_type} if info.mime_type else {})

    @staticmethod
    def _photo_json(info: FileInfo) -> list[JsonDict]:
        base = {"file_id": info.file_id, "file_unique_id": f"U{info.file_id}"}
        return [{"file_id": f"{info.file_id}s", "file_unique_id": f"U{info.file_id}s",
                 "width": 90, "height": 68, "file_size": 1200},
                base | {"width": 1280, "height": 960, "file_size": info.file_size}]

    # ------------------------------------------------------------ acting as a user
    def make_message_update(self, user_id: int, content: JsonDict | str, *,
                            first_name: str = "Test", username: str | None = None) -> JsonDict:
        """Build (without queuing) a private-chat ``message`` update from ``user_id``.

        ``content`` is the text, or a dict of message fields (``document``, ``caption``...).
        A text starting with "/" gets a ``bot_command`` entity covering the command word.
        """
        if isinstance(content, str):
            text, content = content, {"text": content}
            if text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                content["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
                ]
        user: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name,
                          "language_code": "vi"}
        if username:
            user["username"] = username
        self._users[user_id] = user
        message = {"message_id": self._next_message_id(user_id), "from": user,
                   "chat": self._chat_json(user_id), "date": int(time.time()), **content}
        return {"update_id": next(self._update_ids), "message": message}

    def make_document_update(self, user_id: int, file_name: str, mime_type: str,
                             file_size: int = 1024, *, content: bytes | None = None,
                             caption: str | None = None, first_name: str = "Test",
                             username: str | None = None) -> JsonDict:
        """Build a ``message`` update carrying a document (downloadable via getFile).

        Without ``content`` the download yields ``file_size`` zero bytes.
        """
        info = self._new_file(file_name, mime_type, content, "documents", file_size)
        fields: JsonDict = {"document": self._file_json(info)}
        fields |= {"caption": caption} if caption is not None else {}
        return self.make_message_update(user_id, fields, first_name=first_name,
                                        username=username)

    def make_photo_update(self, user_id: int, *, file_size: int = 50_000,
                          caption: str | None = None, first_name: str = "Test",
                          username: str | None = None,
                          content: bytes | None = None) -> JsonDict:
        """Build a ``message`` update carrying a photo (two sizes, like Telegram); with
        ``content``, getFile downloads those bytes as the largest size."""
        info = self._new_file(None, "image/jpeg", content, "photos", file_size)
        thumb = FileInfo(f"{info.file_id}s", None, "image/jpeg", 1200,
                         info.file_path.replace(".jpg", "_s.jpg"))
        self._files[thumb.file_id] = (thumb, None)
        fields: JsonDict = {"photo": self._photo_json(info)}
        fields |= {"caption": caption} if caption is not None else {}
        return self.make_message_update(user_id, fields, first_name=first_name,
                                        username=username)

    def make_callback_update(self, user_id: int, message: SentMessage, data: str, *,
                             first_name: str = "Test", username: str | None = None) -> JsonDict:
        """Build a ``callback_query`` update: ``user_id`` pressed a button of ``message``.

        The message is sent in its current state (edits applied), keyboard included.
        """
        current = next((m for m in self.sent if (m.chat_id, m.message_id)
                        == (message.chat_id, message.message_id)), message)
        query_id = str(4_000_000_000_000 + next(self._ids))
        self._query_ids.add(query_id)
        user: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name,
                          "language_code": "vi"}
        if username:
            user["username"] = username
        query = {"id": query_id, "from": user, "chat_instance": str(-(10**12 + message.chat_id)),
                 "data": data, "message": self.message_json(current)}
        return {"update_id": next(self._update_ids), "callback_query": query}

    def queue_update(self, update: JsonDict) -> int:
        """Queue a raw update for getUpdates; returns its update_id."""
        self.updates.append(update)
        self._notify()
        return int(update["update_id"])

    def user_sends(self, user_id: int, text: str, *, first_name: str = "Test",
                   username: str | None = None) -> int:
        """Queue a text message from ``user_id``; returns the update_id."""
        return self.queue_update(self.make_message_update(user_id, text, first_name=first_name,
                                                          username=username))

    def user_sends_document(self, user_id: int, file_name: str, mime_type: str,
                            file_size: int = 1024, **kwargs: Any) -> int:
        """Queue a document message (kwargs as in ``make_document_update``)."""
        return self.queue_update(
            self.make_document_update(user_id, file_name, mime_type, file_size, **kwargs))

    def user_sends_photo(self, user_id: int, **kwargs: Any) -> int:
        """Queue a photo message (kwargs as in ``make_photo_update``)."""
        return self.queue_update(self.make_photo_update(user_id, **kwargs))

    def user_presses(self, user_id: int, message: SentMessage, data: str, **kwargs: Any) -> int:
        """Queue a button press (callback_query with ``data``) on the bot's ``message``."""
        return self.queue_update(self.make_callback_update(user_id, message, data, **kwargs))

    # ------------------------------------------------------------------ inspection
    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Bot messages in ``chat_id`` (current state, edits applied), oldest first."""
        return [m for m in self.sent if m.chat_id == chat_id]

    def last_to(self, chat_id: int) -> SentMessage:
        """The latest bot message in ``chat_id``; raises LookupError if there is none."""
        messages = self.messages_to(chat_id)
        if not messages:
            raise LookupError(f"no message sent to chat {chat_id}; calls:\n{self.describe()}")
        return messages[-1]

    @staticmethod
    def buttons(msg: SentMessage) -> list[list[tuple[str, str]]]:
        """Inline keyboard rows as ``(text, callback_data)`` (or the url for link buttons)."""
        rows = (msg.reply_markup or {}).get("inline_keyboard", [])
        return [[(b["text"], b.get("callback_data", b.get("url", ""))) for b in row]
                for row in rows]

    def calls_of(self, method: str) -> list[ApiCall]:
        """All recorded calls of ``method`` (case-insensitive)."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def describe(self, last: int = 15) -> str:
        """The most recent calls, one per line, for failure messages."""
        lines = [f"  {c.method} -> {c.status} {json.dumps(c.params, default=str)[:160]}"
                 for c in self.calls[-last:]]
        return "\n".join(lines) or "  (no calls)"

    # -------------------------------------------------------------- fault injection
    def fail_next(self, method: str, *, status: int = 429, retry_after: int | None = 1,
                  description: str | None = None, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail with Telegram's error envelope.

        429 answers ``Too Many Requests: retry after N`` with ``parameters.retry_after`` (so
        PTB raises RetryAfter); 5xx answers ``Internal Server Error``. Counted in ``failures``.
        """
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after or 1}"
            elif status >= 500:
                description = "Internal Server Error"
            else:
                description = HTTPStatus(status).phrase
        parameters = {"retry_after": retry_after} if status == 429 and retry_after else None
        queue = self._faults.setdefault(method.lower(), deque())
        queue.extend(ApiError(status, description, parameters) for _ in range(times))

    def enforce_rate(self, per_second: float, *, burst: float | None = None,
                     per_chat_seconds: float = 0.0) -> None:
        """Answer sends (sendMessage/sendPhoto/sendDocument) above a rate with 429, like
        Telegram: a token bucket refilled at ``per_second`` holding ``burst`` messages
        (default: a fifth of a second's worth, at least 1), and, with ``per_chat_seconds``,
        at most one message per chat in that time. ``retry_after`` is the wait rounded up.
        Such answers are recorded in ``rate_limited``."""
        self._rate, self._per_chat = per_second, per_chat_seconds
        self._burst = self._tokens = max(1.0, burst if burst is not None else per_second / 5)
        self._rate_at = time.monotonic()

    def inject_random_faults(self, p429: float = 0.0, p5xx: float = 0.0, *,
                             retry_after: int = 1, seed: int | None = None) -> None:
        """Fail that share of sends, at random, with 429 (``retry_after``) or 500, before
        anything is delivered. Recorded in ``failures``."""
        self._random = random.Random(seed)
        self._p429, self._p5xx, self._random_retry_after = p429, p5xx, retry_after

    def _random_fault(self, call: ApiCall) -> None:
        if self._random is None:
            return
        draw = self._random.random()
        if draw < self._p429:
            self.failures.append(call)
            raise ApiError(429, f"Too Many Requests: retry after {self._random_retry_after}",
                           {"retry_after": self._random_retry_after})
        if draw < self._p429 + self._p5xx:
            self.failures.append(call)
            raise ApiError(500, "Internal Server Error")

    def _check_rate(self, call: ApiCall) -> None:
        now = time.monotonic()
        wait = 0.0
        if self._rate:
            self._tokens = min(self._burst, self._tokens + (now - self._rate_at) * self._rate)
            self._rate_at = now
            wait = max(0.0, (1 - self._tokens) / self._rate)
        chat = call.params.get("chat_id")
        if self._per_chat and chat in self._chat_last:
            wait = max(wait, self._chat_last[chat] + self._per_chat - now)
        if wait > 0:
            self.rate_limited.append(call)
            seconds = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {seconds}",
                           {"retry_after": seconds})
        if self._rate:
            self._tokens -= 1
        if self._per_chat:
            self._chat_last[chat] = now

    # --------------------------------------------------------------------- waiting
    def _notify(self) -> None:
        # Broadcast: wake every waiter, then arm a fresh event. A plain asyncio.Condition would
        # need its lock held to notify, which synchronous helpers (user_sends) cannot do.
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(self, predicate: Callable[[], bool], seconds: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0,  # noqa: ASYNC109
                       what: str = "condition") -> None:
        """Wait until ``predicate()`` is true, re-checking after every call/update.

        Raises TimeoutError listing the recent API calls.
        """
        if not await self._wait(predicate, timeout):
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}; "
                               f"recent calls:\n{self.describe()}")

    async def wait_sent(self, chat_id: int, count: int = 1,
                        timeout: float = 5.0) -> list[SentMessage]:  # noqa: ASYNC109
        """Wait for ``count`` new sends/edits addressed to ``chat_id``; return exactly those.

        Every successful sendMessage/sendDocument/sendPhoto/edit* is logged per chat as a
        snapshot taken at that moment (edits have ``method`` set to the edit method). A per-chat
        cursor remembers what earlier ``wait_sent`` calls returned, so each call returns the
        next ``count`` entries not yet returned, oldest first; extra entries stay queued for the
        next call. The first call for a chat starts from the first message ever sent to it.
        """
        start = self._sent_cursor.get(chat_id, 0)
        await self.wait_for(lambda: len(self._outbox.get(chat_id, [])) >= start + count,
                            timeout, f"{count} new message(s)/edit(s) to chat {chat_id}")
        self._sent_cursor[chat_id] = start + count
        return self._outbox[chat_id][start:start + count]

    async def wait_call(self, method: str, timeout: float = 5.0) -> ApiCall:  # noqa: ASYNC109
        """Wait for the next call of ``method`` not returned by an earlier ``wait_call``.

        Uses a per-method cursor, like ``wait_sent``; the call may still be in progress
        (check ``status`` only after waiting for its effect).
        """
        key, start = method.lower(), self._call_cursor.get(method.lower(), 0)
        await self.wait_for(lambda: len(self.calls_of(method)) > start, timeout,
                            f"a call of {method}")
        self._call_cursor[key] = start + 1
        return self.calls_of(method)[start]
