"""`dvbot console`: the same dispatcher and flows in a terminal, buttons shown as numbers."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import TextIO

from bot.delivery.sender import SendResult
from bot.engine.conversation import ConversationStore
from bot.engine.dispatcher import Dispatcher
from bot.engine.errors import handle_safely
from bot.engine.messages import Incoming, Reply
from bot.engine.typed import keyed_lines, notice_arrives
from bot.formatting import to_plain

CHANNEL = "console"


def render(replies: list[Reply]) -> str:
    """Plain text; only the last reply with buttons gets numbers (those are what "1" means)."""
    numbered = max((i for i, r in enumerate(replies) if r.buttons), default=-1)
    blocks: list[str] = []
    for index, reply in enumerate(replies):
        lines = [to_plain(reply.text)]
        for attachment, kind in ((reply.document, "Tệp"), (reply.photo, "Ảnh")):
            if attachment is not None:
                lines.append(f"[{kind}: {attachment.filename}] {to_plain(attachment.caption)}")
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
                 prompt: bool = False) -> None:
        self._dispatcher = dispatcher
        self._out = out
        self._user_id = user_id
        self._prompt = prompt

    async def say(self, text: str) -> None:
        """Feed one line as if typed, and print the answer."""
        incoming = Incoming(channel=CHANNEL, user_id=self._user_id, chat_id=self._user_id,
                            text=text, buttons=False)
        replies = await handle_safely(self._dispatcher, incoming)
        self._write(render(replies))

    async def run(self, lines: AsyncIterator[str], *, first: str | None = None) -> None:
        """Answer lines until the input ends."""
        if first is not None:
            await self.say(first)
        self._ask()
        async for line in lines:
            if line.strip():
                await self.say(line)
            self._ask()
        if self._prompt:
            self._out.write("\n")

    def _write(self, text: str) -> None:
        self._out.write(f"{text}\n\n")
        self._out.flush()

    def _ask(self) -> None:
        if self._prompt:
            self._out.write("› ")
            self._out.flush()


class ConsoleSender:
    """Outbox deliveries (broadcasts) in `dvbot console`: the person at the terminal sees
    theirs printed; the demo's fictional members (`show=False`) simply count as delivered."""

    def __init__(self, out: TextIO, channel: str = CHANNEL, *, show: bool = True,
                 conversations: ConversationStore | None = None) -> None:
        self.channel = channel
        self._out = out
        self._show = show
        self._conversations = conversations

    async def deliver(self, address: str, reply: Reply, *, paid: bool = False) -> SendResult:
        """Print (or just accept) one message; its buttons mean what typing will do next."""
        if self._show:
            if self._conversations is not None:
                reply = await notice_arrives(self._conversations, self.channel, address, reply)
            self._out.write(f"[Tin nhắn mới]\n{render([reply])}\n\n")
            self._out.flush()
        return SendResult.sent()
