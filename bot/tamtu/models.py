"""Tâm tư, kiến nghị: threads between a member and the cấp ủy of a level, stored as JSON.

A thread names its sender only when the member chose to be named. Dates are kept by the day
(never a time of day), so nothing a cadre sees or the store holds can be lined up against the
moment a member was active.
"""

from __future__ import annotations

import secrets
from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.library.models import StoredFile

# Thread codes: random, not sequential (a code says nothing about when or by whom), without
# letters people confuse when they type them (0/O, 1/I/L).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
TEXT_LIMITS = (10, 2000)
TAG_LIMIT = 30
MAX_TAGS = 5


def new_code() -> str:
    """A fresh random thread code such as TT-7KQ2MX."""
    return "TT-" + "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def looks_like_code(value: str) -> bool:
    """True for text shaped like a thread code (checked before any lookup)."""
    body = value[3:]
    return (value.startswith("TT-") and len(body) == CODE_LENGTH
            and all(c in ALPHABET for c in body))


class Topic(BaseModel):
    """One topic of the content-configured list."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,23}$")
    name: str = Field(min_length=2, max_length=60)


class Level(StrEnum):
    """Which cấp ủy a thread goes to, counted from the member's own unit."""

    CHI_BO = "chibo"
    CO_SO = "coso"
    TOP = "top"

    @property
    def label(self) -> str:
        """Vietnamese name of the level."""
        return LEVEL_LABELS[self]


LEVEL_LABELS = {Level.CHI_BO: "Cấp ủy chi bộ", Level.CO_SO: "Cấp ủy cơ sở",
                Level.TOP: "Cấp ủy cấp trên"}


class State(StrEnum):
    """Where a thread stands."""

    OPEN = "open"
    ANSWERED = "answered"
    RESOLVED = "resolved"
    CLOSED = "closed"
    BLOCKED = "blocked"

    @property
    def label(self) -> str:
        """Vietnamese name shown to members and cadres."""
        return STATE_LABELS[self]


STATE_LABELS = {State.OPEN: "Chờ trả lời", State.ANSWERED: "Đã trả lời",
                State.RESOLVED: "Đã giải quyết", State.CLOSED: "Đã đóng",
                State.BLOCKED: "Đã khóa"}
FINAL = frozenset({State.CLOSED, State.BLOCKED})


class Post(BaseModel):
    """One message in a thread: the member's, a cadre's answer, or a note of what happened."""

    by: Literal["member", "cadre", "note"]
    text: str
    day: date
    who: str = ""  # the cadre's name and unit; empty for the member's own posts
    photo: StoredFile | None = None  # re-encoded: no EXIF, GPS, camera or editing traces


class Thread(BaseModel):
    """One thread. `sender` is the member id sealed with the deployment secret (opened only
    to deliver answers); `author_id`/`author_name` are set only for a named thread."""

    code: str
    topic: str
    unit: str  # the cấp ủy handling it now
    attributed: str  # the unit shown: home unit if named, else the nearest one with ≥ k members
    anonymous: bool
    author_id: str = ""
    author_name: str = ""
    sender: str
    day: date
    seq: int  # place in the queues: oldest first, without a time of day
    state: State = State.OPEN
    posts: list[Post] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    satisfied: bool | None = None
    answered_day: date | None = None
    due: date
    escalations: int = 0
    version: int = 1

    @property
    def month(self) -> str:
        """The report month the thread counts in (the month it was received)."""
        return f"{self.day:%Y-%m}"

    def overdue(self, today: date) -> bool:
        """Still waiting for an answer after its due day."""
        return self.state is State.OPEN and today > self.due
