"""What a survey is (questions, audience, policy) and what one answer set looks like.

Templates (content/surveys/*.yaml) and the chat's guided form both produce a `Spec`; opening
it for a unit turns it into a stored `Survey`. Answers are validated here, on the server,
because the option index in a button payload can be forged.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_QUESTIONS = 10
MAX_OPTIONS = 8
MAX_TEXT = 1000  # characters of one free-text answer
SCALE = (1, 2, 3, 4, 5)


class Kind(StrEnum):
    """Question types."""

    SINGLE = "single"
    MULTI = "multi"
    SCALE = "scale"
    TEXT = "text"

    @property
    def label(self) -> str:
        """Vietnamese name of the type."""
        return KIND_LABELS[self]


KIND_LABELS = {Kind.SINGLE: "Chọn một", Kind.MULTI: "Chọn nhiều", Kind.SCALE: "Thang điểm 1–5",
               Kind.TEXT: "Trả lời ngắn"}


class Question(BaseModel):
    """One question; `options` for choice questions, `max_choices` caps a multiple choice."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=3, max_length=300)
    kind: Kind
    options: list[str] = Field(default_factory=list, max_length=MAX_OPTIONS)
    max_choices: int | None = Field(default=None, ge=1, le=MAX_OPTIONS)

    @model_validator(mode="after")
    def _shape(self) -> Question:
        choice = self.kind in (Kind.SINGLE, Kind.MULTI)
        if choice and len(self.options) < 2:
            raise ValueError("câu hỏi lựa chọn cần ít nhất 2 phương án")
        if not choice and self.options:
            raise ValueError("chỉ câu hỏi lựa chọn mới có phương án")
        if any(not 1 <= len(o) <= 100 for o in self.options):
            raise ValueError("mỗi phương án dài 1–100 ký tự")
        if self.max_choices is not None and (self.kind is not Kind.MULTI
                                             or self.max_choices > len(self.options)):
            raise ValueError("max_choices chỉ dùng cho câu chọn nhiều, không vượt số phương án")
        return self

    def choices(self) -> list[str]:
        """Labels of the answers one can press (scale points included)."""
        return [str(p) for p in SCALE] if self.kind is Kind.SCALE else self.options

    def limit(self) -> int:
        """How many options a multiple choice accepts."""
        return self.max_choices or len(self.options)


class Visibility(StrEnum):
    """When the cadre may see results."""

    WHILE_OPEN = "while_open"
    AFTER_CLOSE = "after_close"


class Spec(BaseModel):
    """A survey before it is opened: from a template file or the guided form."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=3, max_length=150)
    intro: str = Field(default="", max_length=1000)
    anonymous: bool = True
    visibility: Visibility = Visibility.WHILE_OPEN
    allow_change: bool = False
    days: int = Field(default=7, ge=1, le=90)  # default open period
    questions: list[Question] = Field(min_length=1, max_length=MAX_QUESTIONS)

    @model_validator(mode="after")
    def _no_change_when_anonymous(self) -> Spec:
        # Replacing an anonymous answer would need to know which counters it added to, i.e.
        # a stored link between the person and the answer: exactly what anonymity forbids.
        if self.anonymous and self.allow_change:
            raise ValueError("khảo sát ẩn danh không cho sửa câu trả lời (allow_change)")
        return self


class Survey(Spec):
    """An opened survey: its audience (a unit subtree), times and author."""

    id: str
    unit: str
    # Only the author's name: the stored survey holds no member id at all (the audit log
    # records who opened it).
    author_name: str
    opens_at: datetime
    closes_at: datetime
    audience: int = 0  # members in the snapshot taken at opening
    # Scheduled to open at `opens_at`: no audience snapshot and no notice yet (the scheduler
    # takes both at that time), so nobody can answer it.
    pending: bool = False

    def is_open(self, now: datetime) -> bool:
        """True between opening and closing (once the scheduled opening has happened)."""
        return not self.pending and self.opens_at <= now < self.closes_at

    def results_visible(self, now: datetime) -> bool:
        """The visibility policy. Anonymous results open only at closing, whatever the
        policy says: two views taken while answers come in would differ by one person's
        answers, so a cadre comparing them would see that person's choices."""
        if self.anonymous:
            return now >= self.closes_at
        return self.visibility is Visibility.WHILE_OPEN or now >= self.closes_at


Answer = int | list[int] | str  # option index, option indexes, or free text


class BadAnswer(ValueError):
    """An answer that does not fit its question; the message is safe to show."""


def check_answer(question: Question, answer: Answer) -> Answer:
    """The answer if it fits the question (index range, max choices, text length)."""
    if question.kind is Kind.TEXT:
        if not isinstance(answer, str) or not answer.strip():
            raise BadAnswer("Câu trả lời chưa có nội dung.")
        if len(answer) > MAX_TEXT:
            raise BadAnswer(f"Câu trả lời dài {len(answer)} ký tự, vượt mức {MAX_TEXT} ký tự.")
        return answer.strip()
    count = len(question.choices())
    if question.kind is Kind.MULTI:
        if not isinstance(answer, list) or not answer:
            raise BadAnswer("Đồng chí chưa chọn phương án nào.")
        if len(set(answer)) != len(answer) or len(answer) > question.limit():
            raise BadAnswer(f"Chỉ được chọn tối đa {question.limit()} phương án.")
        if not all(isinstance(i, int) and 0 <= i < count for i in answer):
            raise BadAnswer("Phương án không hợp lệ.")
        return sorted(answer)
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < count:
        raise BadAnswer("Phương án không hợp lệ.")
    return answer
