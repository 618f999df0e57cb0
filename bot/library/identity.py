"""Which document a số hiệu names, when numbering restarts with each term (khóa).

Party documents are numbered from 1 again in every khóa, so "124-QĐ/TW" of 2018 (khóa XII) and
"124-QĐ/TW" of 2023 (khóa XIII) are different documents. A document is therefore the pair
(số hiệu, year of issue). Its id stays the bare số hiệu ("25-nq-tw") as long as no other
document holds that id, so the ids and the reading progress stored before terms were told apart
keep working; a later document with the same số hiệu gets the year in its id ("124-qd-tw-2023").

A reference (`replaces`, `related` …, or what a member types) may name the year to choose:
"124-QĐ/TW (2023)", "124-QĐ/TW năm 2023" (or, typed, "124-QĐ/TW 2023"). A bare số hiệu is
enough while it is unique.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol, TypeVar

from bot.library.sohieu import MAX_ID, BadSoHieu, SoHieu, parse

if TYPE_CHECKING:
    from bot.library.models import Directive

_YEAR = re.compile(r"^(.*?)\s*(?:\(\s*(?:năm\s*)?(\d{4})\s*\)|,?\s+(?:năm\s+)?(\d{4}))\s*$",
                   re.IGNORECASE)


class Numbered(Protocol):
    """A catalog entry or a directive: what identity needs of it."""

    @property
    def so_hieu(self) -> str | None: ...

    @property
    def issued(self) -> date | None: ...


N = TypeVar("N", bound=Numbered)


@dataclass(frozen=True)
class Ref:
    """A số hiệu, with the year of issue when the writer named it."""

    so_hieu: SoHieu
    year: int | None = None

    @property
    def text(self) -> str:
        """'124-QĐ/TW' or '124-QĐ/TW (2023)'."""
        return self.so_hieu.text + (f" ({self.year})" if self.year is not None else "")

    def names(self, doc: Numbered) -> bool:
        """True when `doc` has this số hiệu (and, if the year is named, was issued that year)."""
        if doc.so_hieu is None or doc.issued is None:
            return False
        try:
            same = parse(doc.so_hieu).doc_id == self.so_hieu.doc_id
        except BadSoHieu:
            return False
        return same and (self.year is None or doc.issued.year == self.year)


def parse_ref(raw: str) -> Ref:
    """'124-QĐ/TW', '124-QĐ/TW (2023)', '124-QĐ/TW năm 2023' or '124-QĐ/TW 2023';
    BadSoHieu otherwise."""
    text = " ".join(str(raw).split())
    found = _YEAR.match(text)
    if found is None:
        return Ref(parse(text))
    year = int(found.group(2) or found.group(3))
    so_hieu = parse(found.group(1))
    if not 1930 <= year <= 2200:
        raise BadSoHieu(f"Năm {year} trong {text!r} không hợp lệ.")
    if so_hieu.year is not None and so_hieu.year != year:
        raise BadSoHieu(f"{text!r}: năm trong ngoặc khác năm trong số hiệu.")
    return Ref(so_hieu, year)


def with_year(bare_id: str, year: int) -> str:
    """The id of a document that shares its số hiệu with an older one: '124-qd-tw-2023'."""
    return f"{bare_id}-{year}"


def fits_with_year(bare_id: str) -> bool:
    """True when the id with the year still fits in a button payload."""
    return len(with_year(bare_id, 2000)) <= MAX_ID


def matching(ref: Ref, docs: Iterable[N]) -> list[N]:
    """Every document the reference names, newest first."""
    found = [doc for doc in docs if ref.names(doc)]
    return sorted(found, key=lambda d: d.issued or date.min, reverse=True)


def ambiguity(ref: Ref, found: list[Directive]) -> str:
    """Why a bare số hiệu is not enough, and how to write it (for content check)."""
    years = sorted({d.issued.year for d in found if d.issued is not None})
    listed = ", ".join(str(y) for y in years)
    return (f"{ref.text} khớp {len(found)} văn bản (ban hành năm {listed}); ghi kèm năm, "
            f"ví dụ {ref.so_hieu.text} ({years[-1]})")
