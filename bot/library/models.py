"""The library's documents: directives (văn bản chỉ đạo) and study materials (tài liệu học tập).

The same models validate content files, documents published from the chat, and what comes
back from Redis, so a document that passed one door passes the others.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.library.identity import fits_with_year, parse_ref, with_year
from bot.library.sohieu import MAX_ID, BadSoHieu, parse
from bot.org.models import UNIT_ID

MATERIAL_ID = re.compile(rf"^[a-z][a-z0-9-]{{1,{MAX_ID - 1}}}$")
Text = Annotated[str, Field(min_length=1)]


def parse_vn_date(value: str) -> date | str:
    """'03/6/2013' (as Vietnamese write dates) -> date; other strings are left to pydantic."""
    match = re.fullmatch(r"\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*", value)
    if match is None:
        return value
    day, month, year = map(int, match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"ngày {value.strip()} không hợp lệ") from None


class StoredFile(BaseModel):
    """An attachment kept in the file store under its SHA-256."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    filename: str = Field(min_length=1, max_length=120)
    size: int = Field(ge=1)
    mime: str = "application/octet-stream"


class Question(BaseModel):
    """One self-check question: options, the correct ones (1-based), an explanation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str = Field(min_length=5, max_length=300)
    options: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        min_length=2, max_length=6)
    correct: list[int] = Field(min_length=1)
    explanation: str = Field(default="", max_length=1000)

    @field_validator("correct", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) else value

    @model_validator(mode="after")
    def _correct_in_range(self) -> Question:
        if any(not 1 <= c <= len(self.options) for c in self.correct):
            raise ValueError(f"đáp án đúng phải là số thứ tự từ 1 đến {len(self.options)}")
        if len(set(self.correct)) != len(self.correct):
            raise ValueError("đáp án đúng bị lặp lại")
        return self

    @property
    def multi(self) -> bool:
        """True when more than one option is correct (answered with checkboxes)."""
        return len(self.correct) > 1


class _Document(BaseModel):
    """Fields both kinds share."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=5, max_length=300)
    # What buttons show instead of a title too long for one (cut titles said little).
    short_title: str | None = Field(default=None, min_length=3, max_length=40)
    summary: str = Field(min_length=10, max_length=3000)
    body: str = Field(default="", max_length=200_000)
    attachment: StoredFile | None = None
    source_url: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=500)
    audience: str | None = None  # unit id: this unit and everything below it; None: everyone

    @field_validator("audience")
    @classmethod
    def _unit_shape(cls, value: str | None) -> str | None:
        if value is not None and not UNIT_ID.match(value):
            raise ValueError("mã đơn vị chỉ gồm a–z, 0–9, _ hoặc -, tối đa 32 ký tự")
        return value


class Directive(_Document):
    """A Party or State document with its số hiệu."""

    type: Literal["directive"] = "directive"
    so_hieu: str
    kind: str = ""
    issuer: str = Field(min_length=3, max_length=200)
    issued: date
    key_points: list[Annotated[str, Field(min_length=3, max_length=600)]] = Field(
        default_factory=list, max_length=20)
    replaces: list[str] = Field(default_factory=list)
    amends: list[str] = Field(default_factory=list)
    related: list[str] = Field(default_factory=list)
    # Legal status: in force unless said otherwise; a document replaced by another is no
    # longer in force (bot/library/status.py words it and checks both ends of every link).
    status: Literal["hiệu lực", "hết hiệu lực"] = "hiệu lực"
    effective: date | None = None  # ngày có hiệu lực, when it differs from the issue date
    ended: date | None = None  # ngày hết hiệu lực
    replaced_by: list[str] = Field(default_factory=list)
    # Số hiệu named above that are deliberately not in the library (content check skips them).
    external: list[str] = Field(default_factory=list)
    # The id carries the year: another document (of an earlier term) holds the bare số hiệu.
    # The library sets it when it stores a second document with the same số hiệu.
    id_year: bool = False

    @field_validator("so_hieu", mode="before")
    @classmethod
    def _normalize(cls, value: Any) -> Any:
        try:
            return parse(value).text if isinstance(value, str) else value
        except BadSoHieu as exc:
            raise ValueError(str(exc)) from None

    @field_validator("replaces", "amends", "related", "replaced_by", "external", mode="before")
    @classmethod
    def _normalize_refs(cls, value: Any) -> Any:
        # A reference may name the year to tell terms apart: "124-QĐ/TW (2023)".
        try:
            return [parse_ref(str(v)).text for v in value] if isinstance(value, list) else value
        except BadSoHieu as exc:
            raise ValueError(str(exc)) from None

    @field_validator("issued", "effective", "ended", mode="before")
    @classmethod
    def _vn_date(cls, value: Any) -> Any:
        return parse_vn_date(value) if isinstance(value, str) else value

    @field_validator("issued")
    @classmethod
    def _plausible_date(cls, value: date) -> date:
        if value.year < 1930:
            raise ValueError("ngày ban hành phải từ năm 1930 trở đi")
        return value

    @model_validator(mode="before")
    @classmethod
    def _replaced_means_ended(cls, data: Any) -> Any:
        # "replaced_by" alone is enough to say the document is no longer in force.
        if isinstance(data, dict) and data.get("replaced_by") and "status" not in data:
            return {**data, "status": "hết hiệu lực"}
        return data

    @model_validator(mode="after")
    def _status_consistent(self) -> Directive:
        if self.status == "hiệu lực" and (self.replaced_by or self.ended):
            raise ValueError("status: văn bản đã có replaced_by hoặc ended thì phải là "
                             "“hết hiệu lực”")
        if self.status == "hết hiệu lực" and self.ended is None:
            raise ValueError("ended: văn bản hết hiệu lực cần ghi ngày hết hiệu lực")
        if self.ended is not None and self.ended < self.issued:
            raise ValueError("ended: ngày hết hiệu lực trước ngày ban hành")
        return self

    @model_validator(mode="after")
    def _id_fits(self) -> Directive:
        if self.id_year and not fits_with_year(parse(self.so_hieu).doc_id):
            raise ValueError("id_year: số hiệu quá dài để ghi kèm năm vào mã văn bản")
        return self

    @property
    def current(self) -> bool:
        """True while the document is in force."""
        return self.status == "hiệu lực"

    @model_validator(mode="before")
    @classmethod
    def _infer_kind(cls, data: Any) -> Any:
        # The chat form has no "kind" field: the số hiệu (and for QĐ the title) tells it.
        if isinstance(data, dict) and not data.get("kind"):
            try:
                parsed = parse(str(data.get("so_hieu", "")))
            except BadSoHieu:
                return data  # the so_hieu validator reports it
            return {**data, "kind": parsed.kind_for(str(data.get("title", "")))}
        return data

    @field_validator("kind")
    @classmethod
    def _kind_matches(cls, value: str, info: ValidationInfo) -> str:
        so_hieu = info.data.get("so_hieu")
        if so_hieu is None:
            return value  # the số hiệu itself is wrong; that error is reported already
        kinds = parse(so_hieu).kinds
        if value not in kinds:
            raise ValueError(f"loại văn bản {value!r} không khớp với số hiệu {so_hieu} "
                             f"({' hoặc '.join(kinds)})")
        return value

    @property
    def id(self) -> str:
        """Short id from the số hiệu ('25-nq-tw'), with the year when an older document of
        another term holds the bare one ('124-qd-tw-2023'); see bot/library/identity.py."""
        bare = parse(self.so_hieu).doc_id
        return with_year(bare, self.issued.year) if self.id_year else bare

    @property
    def level(self) -> str:
        """Issuing level from the số hiệu, e.g. 'Trung ương'."""
        return parse(self.so_hieu).level

    @property
    def label(self) -> str:
        """'Nghị quyết 25-NQ/TW'."""
        return f"{self.kind} {self.so_hieu}"


class Material(_Document):
    """A study material, optionally with a self-check quiz."""

    type: Literal["material"] = "material"
    id: str = Field(pattern=MATERIAL_ID.pattern)
    topic: str = Field(min_length=2, max_length=60)
    quiz: list[Question] = Field(default_factory=list, max_length=20)

    @property
    def label(self) -> str:
        """What lists show."""
        return self.title


Document = Annotated[Directive | Material, Field(discriminator="type")]
DOCUMENT: TypeAdapter[Directive | Material] = TypeAdapter(Document)


class Record(BaseModel):
    """A document as stored: where it came from and when it last changed."""

    doc: Document
    origin: str  # "file:directives/25-nq-tw.md" or "chat:<member id>"
    digest: str  # hash of the content, so re-imports of an unchanged file write nothing
    updated_at: datetime
    version: int = 1  # +1 on every change of content: notices about it are keyed by it


class Entry(BaseModel):
    """The catalog line of one document: enough to list, search and check the audience."""

    model_config = ConfigDict(frozen=True)

    id: str
    type: Literal["directive", "material"]
    title: str
    summary: str
    label: str
    short_title: str | None = None
    so_hieu: str | None = None
    kind: str = ""
    issuer: str | None = None
    issued: date | None = None
    topic: str | None = None
    audience: str | None = None
    questions: int = 0
    # Status of a directive (materials are always current); defaults read older catalog lines.
    current: bool = True
    ended: date | None = None
    replaced_by: list[str] = Field(default_factory=list)
    digest: str
    version: int = 1  # the Record's version, so a save knows the next one without the body

    @classmethod
    def of(cls, doc: Directive | Material, digest: str, version: int = 1) -> Entry:
        """The catalog line for a document."""
        if isinstance(doc, Directive):
            return cls(id=doc.id, type="directive", title=doc.title, summary=doc.summary,
                       label=doc.label, short_title=doc.short_title, so_hieu=doc.so_hieu,
                       kind=doc.kind, issuer=doc.issuer,
                       issued=doc.issued, audience=doc.audience, current=doc.current,
                       ended=doc.ended, replaced_by=doc.replaced_by, digest=digest,
                       version=version)
        return cls(id=doc.id, type="material", title=doc.title, summary=doc.summary,
                   label=doc.label, short_title=doc.short_title, topic=doc.topic,
                   audience=doc.audience,
                   questions=len(doc.quiz), digest=digest, version=version)

