"""How a broadcast looks to its recipients: header, the cadre's text (escaped), footer, and
the cut into messages that fit Telegram's limits. The preview shows exactly these messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.engine.messages import Attachment, Button, Reply
from bot.formatting import esc, split_html

TEXT_LIMIT = 4096  # Telegram: the longest text message
CAPTION_LIMIT = 1024  # Telegram: the longest caption of a photo or document
MAX_PARTS = 5  # a longer announcement is better sent as a document


class TooLong(ValueError):
    """The content does not fit one message; `parts` messages would carry it."""

    def __init__(self, parts: int, length: int, limit: int) -> None:
        super().__init__(f"needs {parts} messages")
        self.parts, self.length, self.limit = parts, length, limit


@dataclass(frozen=True)
class Upload:
    """A photo or document the cadre attached (kept on the platform, re-sent by file id)."""

    kind: Literal["photo", "document"]
    file_id: str
    filename: str = ""


@dataclass(frozen=True)
class Frame:
    """What surrounds the cadre's text."""

    unit_name: str
    author_name: str
    reminder: bool = False
    ack: Button | None = None  # the "Đã nhận" button, on the last message

    def head(self) -> str:
        """First lines of the first message."""
        title = "NHẮC LẠI THÔNG BÁO" if self.reminder else "THÔNG BÁO"
        return f"<b>{title}</b> — {esc(self.unit_name)}"

    def tail(self) -> str:
        """Last lines of the last message."""
        lines = f"<i>Người gửi: đồng chí {esc(self.author_name)}</i>"
        if self.ack is not None:
            lines += "\n<i>Đề nghị đồng chí bấm «Đã nhận» sau khi đọc.</i>"
        return lines


def length(html: str) -> int:
    """Length as Telegram counts it (UTF-16 code units), on the marked-up text to be safe."""
    return len(html.encode("utf-16-le")) // 2


def render(text: str, upload: Upload | None, frame: Frame, *, split: bool) -> list[Reply]:
    """The messages to send. Raises TooLong when more than one is needed and `split` is off."""
    whole = _join(frame.head(), esc(text), frame.tail())
    limit = CAPTION_LIMIT if upload else TEXT_LIMIT
    if length(whole) <= limit:
        return [_message(whole, upload, frame.ack)]
    parts = _cut(text, "" if upload else frame.head(), frame.tail())
    count = len(parts) + (1 if upload else 0)
    if not split or count > MAX_PARTS:
        raise TooLong(count, length(whole), limit)
    messages = [_message(frame.head(), upload, None)] if upload else []
    messages += [Reply(p) for p in parts[:-1]] + [Reply(parts[-1], buttons=_row(frame.ack))]
    return messages


def _cut(text: str, head: str, tail: str) -> list[str]:
    """Split the escaped text so that every message, head/tail/part number included, fits;
    a cut never falls inside an entity (`&amp;`) or a tag (split_html)."""
    body = esc(text)
    budget = TEXT_LIMIT - length(head) - length(tail) - 40
    while True:
        chunks = split_html(body, budget)
        parts = [_join(head if i == 0 else f"<i>(tiếp theo, phần {i + 1}/{len(chunks)})</i>",
                       chunk, tail if i == len(chunks) - 1 else "")
                 for i, chunk in enumerate(chunks)]
        if all(length(p) <= TEXT_LIMIT for p in parts):
            return parts
        budget = budget * 9 // 10  # characters Telegram counts twice (emoji): cut finer


def _join(*blocks: str) -> str:
    return "\n\n".join(b for b in blocks if b)


def _row(button: Button | None) -> tuple[tuple[Button, ...], ...]:
    return ((button,),) if button is not None else ()


def _message(text: str, upload: Upload | None, ack: Button | None) -> Reply:
    if upload is None:
        return Reply(text, buttons=_row(ack))
    attachment = Attachment(None, upload.filename, text, file_id=upload.file_id)
    if upload.kind == "photo":
        return Reply("", buttons=_row(ack), photo=attachment)
    return Reply("", buttons=_row(ack), document=attachment)
