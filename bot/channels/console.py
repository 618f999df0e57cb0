"""`dvbot console`: the same dispatcher and flows in a terminal, buttons shown as numbers.

Beyond typed lines: a step that takes several lines collects them until a line with only ".",
a line that is the path of a file sends that file (a proposal's photo), and files the bot sends
are copied under the data directory with their path printed."""

from __future__ import annotations

import asyncio
import mimetypes
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.delivery.sender import SendResult
from bot.engine.conversation import ConversationStore
from bot.engine.dispatcher import Dispatcher
from bot.engine.errors import handle_safely
from bot.engine.messages import Attachment, Button, FileRef, Incoming, Reply
from bot.engine.typed import keyed_lines, notice_arrives
from bot.formatting import to_plain

CHANNEL = "console"
MULTILINE = ("(Bước này nhận nhiều dòng: gõ từng dòng, rồi gõ một dòng chỉ có dấu chấm «.» để "
             "gửi. Gõ /huy để hủy.)")
RESUMED = ("Đồng chí đang làm dở một thao tác; bản nháp vẫn được giữ. Đồng chí gõ tiếp như "
           "trước, hoặc gõ /huy để hủy.")


def render(replies: list[Reply], *, files: Path | None = None) -> str:
    """Plain text; only the last reply with buttons gets numbers (those are what "1" means).
    With `files`, documents and photos are copied there and their paths printed."""
    numbered = max((i for i, r in enumerate(replies) if r.buttons), default=-1)
    blocks: list[str] = []
    for index, reply in enumerate(replies):
        lines = [to_plain(reply.text)]
        for attachment, kind in ((reply.document, "Tệp"), (reply.photo, "Ảnh")):
            if attachment is not None:
                lines.append(f"[{kind}: {attachment.filename}] {to_plain(attachment.caption)}"
                             .strip())
                if files is not None:
                    lines.append(keep(attachment, files))
        labels = [button.label for row in reply.buttons for button in row]
        if reply.keyed:
            lines += keyed_lines(reply)
        elif index == numbered:
            lines += [f"{n}. {label}" for n, label in enumerate(labels, start=1)]
            lines.append("(Trả lời bằng số 1)" if len(labels) == 1
                         else f"(Trả lời bằng số 1–{len(labels)})")
        else:
            lines += [f"• {label}" for label in labels]
        blocks.append("\n".join(lines).strip())
    return "\n\n".join(blocks)


def keep(attachment: Attachment, folder: Path) -> str:
    """Copy a file the bot sends into `folder` (a terminal cannot show it); the line to print."""
    if attachment.path is None or not attachment.path.is_file():
        return "(Tệp này chỉ có trên Telegram; không lưu được trong console.)"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = folder / f"{stamp}-{Path(attachment.filename or attachment.path.name).name}"
    shutil.copyfile(attachment.path, target)
    return f"(Đã lưu tại: {target.resolve()})"


def file_typed(text: str) -> FileRef | None:
    """A line that is the path of an existing file: the file, sent as a photo or document
    (how a terminal attaches a photo to a proposal or an announcement)."""
    if "\n" in text or len(text) > 1024:
        return None
    path = Path(text.strip()).expanduser()
    try:
        if not path.is_file():
            return None
        size = path.stat().st_size
    except OSError:
        return None
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"

    async def fetch() -> bytes:
        return path.read_bytes()

    kind = "photo" if mime.startswith("image/") else "document"
    return FileRef(file_id=f"console:{path.resolve()}", kind=kind, filename=path.name,
                   mime_type=mime, size=size, fetch=fetch)


async def stdin_lines(stream: TextIO = sys.stdin) -> AsyncIterator[str]:
    """Lines from stdin without blocking the loop: a terminal, a pipe, or a redirected file."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stream)
    except ValueError:
        # A regular file (`dvbot console < script.txt`) cannot be watched by the loop, but
        # reading it never blocks for long, so a worker thread is fine there.
        while line := await loop.run_in_executor(None, stream.readline):
            yield line.rstrip("\r\n")
        return
    while raw := await reader.readline():
        yield raw.decode(stream.encoding or "utf-8", errors="replace").rstrip("\r\n")


class ConsoleChannel:
    """One person at a terminal (or a script driving a pipe)."""

    def __init__(self, dispatcher: Dispatcher, out: TextIO, *, user_id: str = "local",
                 prompt: bool = False, files: Path | None = None) -> None:
        self._dispatcher = dispatcher
        self._out = out
        self.user_id = user_id  # the demo's /dongvai switches it
        self._prompt = prompt
        self._files = files
        self._block: list[str] | None = None  # lines of a multi-line answer being typed
        # Console-only commands (the demo's /dongvai): True when the line was handled.
        self.intercept: Callable[[str], Awaitable[bool]] | None = None

    async def say(self, text: str) -> None:
        """Feed one line (or a block of lines) as if typed, and print the answer."""
        file = file_typed(text)
        incoming = Incoming(channel=CHANNEL, user_id=self.user_id, chat_id=self.user_id,
                            text=None if file else text, file=file, buttons=False)
        replies = await handle_safely(self._dispatcher, incoming)
        self.write(render(replies, files=self._files))
        if await self._step_takes_lines():
            self._block = []
            self.write(MULTILINE)

    async def resume(self) -> bool:
        """After a restart: if a dialog is still open, say so and show its options again
        (nothing is sent over it, so a half-filled form is kept). False if none is open."""
        conversations = self._dispatcher.deps.conversations
        if await conversations.dialog(CHANNEL, self.user_id) is None:
            return False
        options = await conversations.options(CHANNEL, self.user_id)
        buttons = tuple((Button(label, action),) for label, action in
                        zip(options.labels, options.actions, strict=True)) if options else ()
        keyed = "#" if options is not None and options.keyed else ""
        self.write(render([Reply(RESUMED, buttons=buttons, keyed=keyed)]))
        if await self._step_takes_lines():
            self._block = []
            self.write(MULTILINE)
        return True

    async def run(self, lines: AsyncIterator[str], *, first: str | None = None) -> None:
        """Answer lines until the input ends."""
        if first is not None:
            await self.say(first)
        self._ask()
        async for line in lines:
            await self.line(line)
            self._ask()
        if self._prompt:
            self._out.write("\n")

    async def line(self, line: str) -> None:
        """One line from the terminal: part of a block, the block's end, or a message."""
        if self._block is not None and not line.startswith("/"):
            if line.strip() != ".":
                self._block.append(line)
                return
            text, self._block = "\n".join(self._block).strip(), None
            if text:
                await self.say(text)
            return
        self._block = None  # a command leaves the block (e.g. /huy)
        if self.intercept is not None and await self.intercept(line):
            return
        if line.strip():
            await self.say(line)

    async def _step_takes_lines(self) -> bool:
        # Shielded: a Ctrl-C landing on this read must stop the console at once (a cancelled
        # read can leave the client waiting on its connection forever).
        return await asyncio.shield(self._lines_step())

    async def _lines_step(self) -> bool:
        dialog = await self._dispatcher.deps.conversations.dialog(CHANNEL, self.user_id)
        step = self._dispatcher.router.steps.get(dialog.step) if dialog else None
        return step is not None and step.lines

    def write(self, text: str) -> None:
        """Print a block of output."""
        self._out.write(f"{text}\n\n")
        self._out.flush()

    def _ask(self) -> None:
        if self._prompt:
            self._out.write("› " if self._block is None else "… ")
            self._out.flush()


class ConsoleSender:
    """Outbox deliveries (broadcasts) in `dvbot console`: the person at the terminal sees
    theirs printed; the demo's fictional members (`show=False`) simply count as delivered."""

    def __init__(self, out: TextIO, channel: str = CHANNEL, *, show: bool = True,
                 conversations: ConversationStore | None = None,
                 watching: Callable[[], str] | None = None, files: Path | None = None) -> None:
        self.channel = channel
        self._out = out
        self._show = show
        self._conversations = conversations
        self._files = files  # where an announcement's attachment is saved
        self._watching = watching  # the account at the terminal; others' messages just count

    async def deliver(self, address: str, reply: Reply, *, paid: bool = False) -> SendResult:
        """Print (or just accept) one message; its buttons mean what typing will do next."""
        if self._show and (self._watching is None or self._watching() == address):
            if self._conversations is not None:
                reply = await notice_arrives(self._conversations, self.channel, address, reply)
            self._out.write(f"[Tin nhắn mới]\n{render([reply], files=self._files)}\n\n")
            self._out.flush()
        return SendResult.sent()
