"""What the two Zalo adapters share: plain-text rendering with numbered options, splitting at
Zalo's 2,000 characters, links to files served by our own web server, and photo downloads.

Zalo shows plain text only, so replies lose their HTML (bot.formatting.to_plain) and buttons become
numbered lines; the dispatcher maps a typed "1" back to the button's action through the
Options it stored for the account (bot.engine.conversation).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import aiohttp
from aiohttp import web

from bot.delivery.sender import SendResult
from bot.engine.conversation import ConversationStore
from bot.engine.messages import Attachment, Button, FileUnavailable, NotAnImage, Reply
from bot.engine.typed import keyed_lines, notice_arrives
from bot.formatting import split_text, to_plain

log = logging.getLogger("dvbot.zalo")

LIMIT = 2000  # characters per Zalo text message (both APIs)
MAX_PHOTO = 10 * 1024 * 1024  # a member's photo; Zalo itself caps images near 1 MB
FILE_ROUTE = "/f/{sig}/{name:.+}"
# The answer to what the bot cannot read: stickers, files, locations, voice messages.
UNREADABLE = ("Cảm ơn đồng chí. Bot hiện chỉ đọc được tin nhắn chữ và ảnh; nhãn dán, tệp, vị trí "
              "và tin nhắn thoại bot chưa xem được. Đồng chí vui lòng gõ nội dung cần trao đổi, "
              "hoặc gõ /menu để mở menu chính.")


def hint(count: int) -> str:
    """The line under numbered options."""
    numbers = "1" if count == 1 else f"1–{count}"
    return f"(Trả lời {numbers}, 0 để quay lại)"


def numbered(labels: list[str]) -> list[str]:
    """"1. Văn bản chỉ đạo", ... and the hint."""
    return [f"{n}. {label}" for n, label in enumerate(labels, start=1)] + [hint(len(labels))]


def labels_of(reply: Reply) -> list[str]:
    """Button labels of a reply, in reading order."""
    return [button.label for row in reply.buttons for button in row]


def buttons_of(reply: Reply) -> list[Button]:
    """Buttons of a reply, in reading order."""
    return [button for row in reply.buttons for button in row]


def last_with_buttons(replies: list[Reply]) -> int:
    """Index of the reply whose buttons the numbers mean (as the dispatcher stores them)."""
    return max((i for i, r in enumerate(replies) if r.buttons), default=-1)


@dataclass(frozen=True)
class Outgoing:
    """One Zalo message: text, or a photo (by URL, or a local file to upload) with a caption."""

    text: str
    photo_url: str | None = None
    photo_path: Path | None = None  # only for channels that upload (the OA)
    buttons: list[Button] = field(default_factory=list)  # shown as numbers in `text`

    @property
    def is_photo(self) -> bool:
        """A photo message (its text is the caption)."""
        return self.photo_url is not None or self.photo_path is not None


def uploadable(path: Path) -> bool:
    """Can the OA upload this file (any image: converted to a JPEG ≤ 1 MB on the way)?"""
    return path.is_file()


def render(reply: Reply, *, numbers: bool, files: FileLinks | None,
           limit: int = LIMIT, uploads: bool = False) -> list[Outgoing]:
    """A reply as Zalo messages: the text split on paragraph boundaries, numbered options at
    the end of the last part, then its photo or document (uploaded where the channel can and
    the file fits, else as a URL, else a line of text)."""
    body = to_plain(reply.text).strip()
    labels = labels_of(reply)
    if labels:
        if reply.keyed:  # a step that asks for text: "#1 …" and words, digits stay text
            tail = keyed_lines(reply)
        else:
            tail = numbered(labels) if numbers else [f"• {label}" for label in labels]
        body = "\n".join([body, *tail]).strip()
    out = [Outgoing(part) for part in split_text(body, limit)] if body else []
    for attachment, kind in ((reply.document, "Tệp"), (reply.photo, "Ảnh")):
        if attachment is not None:
            out.append(_file_message(attachment, kind, files, limit, uploads))
    if numbers and labels and out:
        # The options belong to the message that lists them (the OA adds buttons to it).
        text_index = max(i for i, o in enumerate(out) if not o.is_photo)
        out[text_index] = Outgoing(out[text_index].text, buttons=buttons_of(reply))
    return out


def _file_message(attachment: Attachment, kind: str, files: FileLinks | None,
                  limit: int, uploads: bool) -> Outgoing:
    caption = to_plain(attachment.caption).strip()
    if uploads and kind == "Ảnh" and attachment.path is not None \
            and uploadable(attachment.path):
        return Outgoing(caption[:limit], photo_path=attachment.path)
    url = files.url(attachment.path) if files is not None and attachment.path else None
    if url is not None and kind == "Ảnh":
        return Outgoing(caption[:limit], photo_url=url)
    if url is not None:
        return Outgoing(f"[{kind}: {attachment.filename}] {caption}\n{url}".strip()[:limit])
    # Nowhere to serve it from (no public URL), or a Telegram-only file id: say what it is.
    note = "tệp này hiện chỉ xem được trên Telegram; đồng chí có thể đề nghị cán bộ gửi lại"
    return Outgoing(f"[{kind}: {attachment.filename}] {caption}\n({note})".strip()[:limit])


@dataclass(frozen=True)
class FileLinks:
    """Unguessable URLs for files under `root`, served by our own aiohttp server: the path
    carries an HMAC of the file name, checked in constant time before anything is read."""

    base_url: str
    root: Path
    secret: bytes

    def _sig(self, name: str) -> str:
        return hmac.new(self.secret, f"dvbot-file:{name}".encode(), hashlib.sha256).hexdigest()[:32]

    def url(self, path: Path) -> str | None:
        """Public URL of a stored file, or None if it is not under `root`."""
        try:
            name = path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return None
        return f"{self.base_url}/f/{self._sig(name)}/{quote(name)}"

    def resolve(self, sig: str, name: str) -> Path | None:
        """The file a signed URL names, or None (bad signature, escape attempt, missing)."""
        if not hmac.compare_digest(sig.encode(), self._sig(name).encode()):
            return None
        root = self.root.resolve()
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return None
        return path


FILES = web.AppKey("zalo_files", FileLinks)


async def serve_file(request: web.Request) -> web.StreamResponse:
    """GET a stored file by its signed URL (404 for anything else, same answer every time)."""
    path = request.app[FILES].resolve(request.match_info["sig"], request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path)


def add_file_route(app: web.Application, files: FileLinks) -> None:
    """Serve signed file URLs from the webhook server."""
    app[FILES] = files
    app.router.add_get(FILE_ROUTE, serve_file)


async def download_photo(session: aiohttp.ClientSession, url: str,
                         limit: int = MAX_PHOTO) -> bytes:
    """Fetch a photo a member sent (Zalo gives a URL): images only, at most `limit` bytes."""
    if not url.startswith(("https://", "http://")):
        raise FileUnavailable("not an http(s) URL")
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=30)) as response:
            if response.status != 200:
                raise FileUnavailable(f"HTTP {response.status}")
            if not response.content_type.startswith("image/"):
                raise NotAnImage(f"not an image: {response.content_type}")
            if (response.content_length or 0) > limit:
                raise FileUnavailable("too big")
            data = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > limit:
                    raise FileUnavailable("too big")
            return bytes(data)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise FileUnavailable(type(exc).__name__) from exc


Job = Callable[[], Awaitable[None]]


class Inbox:
    """Updates a webhook or poller accepted, handled after the HTTP answer (Zalo wants 200
    within 2 s). Accounts are spread over `shards` queues, so one person's messages keep their
    order while different people are served concurrently."""

    def __init__(self, shards: int = 4) -> None:
        self._queues: list[asyncio.Queue[Job | None]] = [asyncio.Queue() for _ in range(shards)]

    def put(self, account: str, job: Job) -> None:
        """Queue `job` behind the account's earlier ones."""
        shard = int(hashlib.blake2s(account.encode(), digest_size=4).hexdigest(), 16)
        self._queues[shard % len(self._queues)].put_nowait(job)

    async def run(self, stop: asyncio.Event) -> None:
        """Handle queued jobs until `stop`; what was queued before it is still handled."""
        async with asyncio.TaskGroup() as group:
            for queue in self._queues:
                group.create_task(self._drain(queue))
            await stop.wait()
            for queue in self._queues:
                queue.put_nowait(None)

    @staticmethod
    async def _drain(queue: asyncio.Queue[Job | None]) -> None:
        while (job := await queue.get()) is not None:
            try:
                await job()
            except Exception:  # one bad update must not stop the others
                log.exception("error while handling a Zalo update")


class SendsOutgoing(Protocol):
    """A Zalo API client: sends one rendered message to one account."""

    async def send(self, address: str, message: Outgoing, /) -> None: ...


class ZaloSender:
    """Delivers outbox messages on one Zalo channel (the outbox owns retries): a long text goes
    as several Zalo messages. Subclasses say how to render and what an API error means."""

    channel: str
    error: type[Exception]

    def __init__(self, client: SendsOutgoing, conversations: ConversationStore,
                 files: FileLinks | None = None) -> None:
        self._client = client
        self._conversations = conversations
        self._files = files

    def render(self, reply: Reply) -> list[Outgoing]:
        """The reply as this channel's messages."""
        raise NotImplementedError

    def classify(self, exc: Exception) -> SendResult:
        """What an API error means for a bulk delivery."""
        raise NotImplementedError

    async def deliver(self, address: str, reply: Reply, *, paid: bool = False) -> SendResult:
        """Send one outbox message and say how it went."""
        # What typing will mean is recorded before the member can see the notice.
        reply = await notice_arrives(self._conversations, self.channel, address, reply)
        try:
            for message in self.render(reply):
                await self._client.send(address, message)
        except self.error as exc:
            return self.classify(exc)
        return SendResult.sent()
