"""Channel-neutral messages: what flows receive (`Incoming`) and what they answer (`Reply`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Button:
    """One button; `action` is a packed payload (see bot.engine.actions)."""

    label: str
    action: str


@dataclass(frozen=True)
class Attachment:
    """A file the bot sends (document or photo): a local file, or one already on the platform."""

    path: Path | None
    filename: str
    caption: str = ""
    # The platform's id of a file a user sent earlier (Telegram file_id): re-sent by reference,
    # nothing uploaded. Used instead of `path` when set; only valid on that same platform.
    file_id: str = ""


@dataclass(frozen=True)
class FileRef:
    """A file a user sent; the content stays on the platform until a flow asks for it."""

    file_id: str
    kind: str  # "document" | "photo"
    filename: str = ""
    mime_type: str = ""
    size: int = 0
    # Downloads the content from the platform (set by the channel adapter; flows call it
    # instead of a platform API). Raises FileUnavailable when the platform refuses.
    fetch: Callable[[], Awaitable[bytes]] | None = field(default=None, compare=False,
                                                         repr=False)


class FileUnavailable(Exception):
    """The platform would not hand over a file the user sent (too big, expired, network)."""


class NotAnImage(FileUnavailable):
    """What a photo link led to is not an image (a web page, a PDF): sending it again won't help."""


@dataclass(frozen=True)
class Reply:
    """One outgoing message. `text` is the Telegram HTML subset (<b>, <i>, <code>); user text
    inside it must go through bot.formatting.esc()."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    edit: bool = False  # replace the message the pressed button was on, where the channel can
    document: Attachment | None = None
    photo: Attachment | None = None
    # On channels without buttons, how its buttons are chosen (bot.engine.typed): "" by
    # number; "#" as #1, #2… (the step asks for text, so digits are text); "words" by their
    # words only (a notice that arrived in the middle of a dialog).
    keyed: str = ""


@dataclass(frozen=True)
class Incoming:
    """One thing a person did: typed text, pressed a button, or sent a file."""

    channel: str
    user_id: str
    chat_id: str
    text: str | None = None
    action: str | None = None  # raw button payload, still untrusted
    file: FileRef | None = None
    display_name: str = ""
    buttons: bool = True  # can this channel show buttons, or must it number the options?
    meta: dict[str, str] = field(default_factory=dict)


def rows(*buttons: Button, width: int = 1) -> tuple[tuple[Button, ...], ...]:
    """Lay buttons out `width` per row."""
    return tuple(tuple(buttons[i : i + width]) for i in range(0, len(buttons), width))
