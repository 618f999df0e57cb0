"""What the outbox stores: recipients, messages (JSON via pydantic) and per-job counters."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from bot.engine.messages import Attachment, Button, Reply

GROUP_ALL = ""  # the counters of the whole job, as opposed to one report group


@dataclass(frozen=True)
class Recipient:
    """One member a job is addressed to. `channel` is None when the member has no account the
    outbox can deliver to; such recipients are counted as failed ("no_account") at once."""

    member_id: str
    channel: str | None
    address: str
    group: str = ""  # report group, e.g. the child unit the member belongs to
    cost: str = ""  # "billed" when the platform charges for this delivery
    reason: str = ""  # why `channel` is None (bot.delivery.reach), "no_account" by default


class StoredFile(BaseModel):
    """An attachment as stored in a job: a platform file id or a local path."""

    file_id: str = ""
    path: str = ""
    filename: str = ""
    caption: str = ""

    @classmethod
    def of(cls, attachment: Attachment) -> StoredFile:
        """Serialize an Attachment."""
        return cls(file_id=attachment.file_id, filename=attachment.filename,
                   caption=attachment.caption,
                   path=str(attachment.path) if attachment.path is not None else "")

    def attachment(self) -> Attachment:
        """Back to an Attachment."""
        return Attachment(Path(self.path) if self.path else None, self.filename, self.caption,
                          file_id=self.file_id)


class StoredMessage(BaseModel):
    """One platform message of a job (a Reply without the chat-only `edit` flag)."""

    text: str = ""
    buttons: list[list[tuple[str, str]]] = []
    photo: StoredFile | None = None
    document: StoredFile | None = None

    @classmethod
    def of(cls, reply: Reply) -> StoredMessage:
        """Serialize a Reply."""
        return cls(text=reply.text,
                   buttons=[[(b.label, b.action) for b in row] for row in reply.buttons],
                   photo=StoredFile.of(reply.photo) if reply.photo else None,
                   document=StoredFile.of(reply.document) if reply.document else None)

    def reply(self) -> Reply:
        """Back to a Reply."""
        buttons = tuple(tuple(Button(label, action) for label, action in row)
                        for row in self.buttons)
        return Reply(self.text, buttons=buttons,
                     photo=self.photo.attachment() if self.photo else None,
                     document=self.document.attachment() if self.document else None)


Counter = Literal["total", "sent", "failed", "blocked", "confirmed", "cancelled", "billed"]
COUNTERS: tuple[Counter, ...] = ("total", "sent", "failed", "blocked", "confirmed", "cancelled",
                                 "billed")


@dataclass(frozen=True)
class Tally:
    """Counters of a job or of one report group."""

    total: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    confirmed: int = 0
    cancelled: int = 0
    billed: int = 0  # routed to a channel that charges for it (Zalo OA after 48 h)

    @property
    def pending(self) -> int:
        """Deliveries not finished yet (neither sent nor failed nor cancelled)."""
        return max(0, self.total - self.sent - self.failed - self.blocked - self.cancelled)


@dataclass(frozen=True)
class JobStats:
    """A job's state and counters, overall and per report group."""

    state: str  # "sending" | "done" | "cancelled" | "" (not expanded yet)
    overall: Tally
    groups: dict[str, Tally] = field(default_factory=dict)

    @classmethod
    def parse(cls, state: str | None, raw: dict[str, str]) -> JobStats:
        """Build from the stats hash: `sent` overall, `sent:<group>` per group."""
        values: dict[str, dict[str, int]] = {}
        for name, value in raw.items():
            counter, _, group = name.partition(":")
            if counter in COUNTERS:
                values.setdefault(group, {})[counter] = int(value)
        overall = Tally(**values.pop(GROUP_ALL, {}))
        return cls(state or "", overall, {g: Tally(**v) for g, v in values.items()})


@dataclass(frozen=True)
class Delivery:
    """One claimed stream entry: a job's message(s) for one member."""

    job_id: str
    entry_id: str
    member_id: str
    address: str
    group: str
    attempt: int = 0

    def as_json(self) -> str:
        """The fields a re-queued copy carries."""
        return json.dumps({"m": self.member_id, "a": self.address, "g": self.group,
                           "n": self.attempt}, separators=(",", ":"))


@dataclass(frozen=True)
class Job:
    """What a worker needs to know about a job: its messages and its lane."""

    messages: tuple[StoredMessage, ...]
    paid: bool
    sealed: bool = False  # recipients are random tokens with sealed addresses


def retried(d: Delivery) -> Delivery:
    """The same delivery, one attempt later."""
    return replace(d, attempt=d.attempt + 1)
