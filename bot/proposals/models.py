"""What a proposal is: its fields and limits, its states, and the append-only history."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from uuid import uuid4

from pydantic import BaseModel, Field

from bot.library.models import StoredFile

CODE_PREFIX = "DVK"
MAX_PHOTOS = 5


class Area(StrEnum):
    """The field (lĩnh vực) a model belongs to."""

    ECONOMY = "kinh_te"
    CULTURE = "van_hoa_xa_hoi"
    DEFENCE = "quoc_phong_an_ninh"
    PARTY = "xay_dung_dang"
    GOVERNMENT = "dan_van_chinh_quyen"
    OTHER = "khac"

    @property
    def label(self) -> str:
        """Vietnamese name of the field."""
        return AREA_LABELS[self]


AREA_LABELS = {
    Area.ECONOMY: "Kinh tế",
    Area.CULTURE: "Văn hóa – xã hội",
    Area.DEFENCE: "Quốc phòng – an ninh",
    Area.PARTY: "Xây dựng Đảng và hệ thống chính trị",
    Area.GOVERNMENT: "Dân vận chính quyền",
    Area.OTHER: "Lĩnh vực khác",
}


class State(StrEnum):
    """Where a proposal is. Waiting states sit in the queue of `route[level]`."""

    SUBMITTED = "submitted"  # waiting at the first level
    IN_REVIEW = "in_review"  # claimed by a reviewer at `level`
    APPROVED = "approved"  # passed a level (thẩm định), waiting at the next one
    RECOGNISED = "recognised"  # passed the last level (công nhận): in the gallery
    RETURNED = "returned"  # back to the author for changes
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        """Vietnamese name of the state."""
        return STATE_LABELS[self]


STATE_LABELS = {
    State.SUBMITTED: "Đã gửi, chờ thẩm định",
    State.IN_REVIEW: "Đang thẩm định",
    State.APPROVED: "Đã thẩm định đạt, chờ cấp trên xem xét",
    State.RECOGNISED: "Đã được công nhận",
    State.RETURNED: "Trả lại để bổ sung, chỉnh sửa",
    State.REJECTED: "Không được chấp nhận",
    State.WITHDRAWN: "Đã rút",
}
WAITING = frozenset({State.SUBMITTED, State.APPROVED})
OPEN = frozenset({State.SUBMITTED, State.IN_REVIEW, State.APPROVED, State.RETURNED})


class Decision(StrEnum):
    """What a reviewer decides."""

    APPROVE = "a"
    RETURN = "r"
    REJECT = "x"


class Limits:
    """Form limits (characters), stated in the prompts."""

    NAME = (5, 150)
    EXECUTOR = (3, 300)
    METHOD = (20, 3000)
    RESULTS = (20, 3000)
    ANSWER = (5, 1000)
    NOTE = (1, 1000)


class Photo(BaseModel):
    """One photo of a proposal, kept in the file store (checked to be a real image)."""

    file: StoredFile
    width: int = 0
    height: int = 0


class Content(BaseModel):
    """What the author writes; also the shape of a draft (fields may still be empty)."""

    name: str = ""
    area: Area | None = None
    unit: str = ""
    executor: str = ""
    method: str = ""
    results: str = ""
    photos: list[Photo] = Field(default_factory=list)

    def missing(self) -> list[str]:
        """Keys still empty, in the form's order."""
        order = ("name", "area", "unit", "executor", "method", "results")
        return [key for key in order if not getattr(self, key)]


class Draft(Content):
    """A member's unsent form; `code` is set when editing a returned proposal. `id` makes
    sending it idempotent (a second «Gửi» after a crash finds what the first one made)."""

    id: str = Field(default_factory=lambda: uuid4().hex)
    code: str | None = None
    step: str = ""


class Proposal(Content):
    """A submitted proposal. `version` grows with every transition (the buttons carry it)."""

    code: str
    author: str
    author_name: str
    state: State = State.SUBMITTED
    level: int = 0
    route: list[str]  # reviewing unit of each level, lowest first
    entry: str = ""  # id of its current entry in the stream of route[level]
    claimed_by: str | None = None
    version: int = 1
    submitted_at: datetime
    updated_at: datetime
    answer: str = ""  # the last official answer (shown to the author)
    draft: str = ""  # id of the draft that made this version (a repeated «Gửi» finds it)

    @property
    def reviewing_unit(self) -> str:
        """The unit whose queue holds (or held) the proposal now."""
        return self.route[min(self.level, len(self.route) - 1)]


class Event(BaseModel):
    """One transition in the append-only history."""

    at: datetime
    actor: str
    actor_name: str
    source: State | None
    target: State
    level: int = 0
    answer: str = ""
    note: str = ""  # private: reviewers and admins only


def make_code(year: int, number: int) -> str:
    """DVK-2026-00042."""
    return f"{CODE_PREFIX}-{year}-{number:05d}"


_TYPED_CODE = re.compile(r"^\s*dvk\W*(\d{4})\W*0*(\d{1,9})\s*$", re.IGNORECASE)


def typed_code(text: str) -> str | None:
    """A code as people type it ("dvk-2026-1", "DVK 2026 00001") in its stored form."""
    found = _TYPED_CODE.match(text)
    return make_code(int(found.group(1)), int(found.group(2))) if found else None
