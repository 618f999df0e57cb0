"""Số hiệu (document numbers) of Party and State documents: parse, normalize, explain.

Party documents are written ``<số>-<loại>/<cơ quan>``: ``25-NQ/TW`` is Nghị quyết số 25 of the
Central Committee level, ``12-CT/TU`` a Chỉ thị of a Tỉnh ủy. State documents are written
``<số>/<năm>/<loại>-<cơ quan>`` (``59/2023/NĐ-CP``) or, for laws, ``<số>/<năm>/QH<khóa>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.formatting import fold

MAX_ID = 20  # document ids travel in button payloads (64 bytes with a unit id beside them)

# Kind codes (as in Hướng dẫn về thể thức văn bản của Đảng) -> the kinds they may stand for.
# "QĐ" is both Quyết định and Quy định: the title or the front matter decides.
KINDS: dict[str, tuple[str, ...]] = {
    "NQ": ("Nghị quyết",), "CT": ("Chỉ thị",), "KL": ("Kết luận",),
    "QĐ": ("Quyết định", "Quy định"), "QC": ("Quy chế",), "KH": ("Kế hoạch",),
    "HD": ("Hướng dẫn",), "TB": ("Thông báo",), "CTr": ("Chương trình",),
    "ĐA": ("Đề án",), "BC": ("Báo cáo",), "TT": ("Thông tri",), "CV": ("Công văn",),
    "NĐ": ("Nghị định",), "PL": ("Pháp lệnh",),
}
_KIND_BY_FOLD = {fold(code): code for code in KINDS}

# Issuer codes -> level, tried in order (the first matching rule wins).
_LEVELS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^QH\d*$"), "Quốc hội"),
    (re.compile(r"^UBTVQH\d*$"), "Ủy ban Thường vụ Quốc hội"),
    (re.compile(r"^CP$"), "Chính phủ"),
    (re.compile(r"^[A-ZĐ]*TW$"), "Trung ương"),
    (re.compile(r"^[A-ZĐ]*TU$"), "Tỉnh ủy, Thành ủy"),
    (re.compile(r"^ĐUK[A-ZĐ]*$"), "Đảng ủy Khối"),
    (re.compile(r"^[A-ZĐ]*(HU|QU|TXU|THU)$"), "Huyện ủy, Quận ủy, Thị ủy, Thành ủy"),
    (re.compile(r"^[A-ZĐ]*ĐU[A-ZĐ]*$"), "Đảng ủy"),
    (re.compile(r"^CB[A-ZĐ0-9]*$"), "Chi bộ"),
)
_PARTY = re.compile(r"^(\d{1,5})\s*-\s*([A-Za-zĐđ]{2,4})\s*/\s*([A-Za-zĐđ]{2,12})$")
_STATE = re.compile(
    r"^(\d{1,5})\s*/\s*(\d{4})\s*/\s*(?:([A-Za-zĐđ]{2,4})\s*-\s*)?([A-Za-zĐđ]{2,10}\d{0,2})$")


class BadSoHieu(ValueError):
    """The số hiệu does not follow a known pattern; the message says how it should look."""


@dataclass(frozen=True)
class SoHieu:
    """A parsed số hiệu: `text` is the normalized form shown to people."""

    number: int
    code: str  # kind code, e.g. "NQ"
    issuer: str  # issuer code, e.g. "TW"
    level: str  # e.g. "Trung ương"
    year: int | None = None  # state documents carry their year

    @property
    def text(self) -> str:
        """Normalized spelling, e.g. '25-NQ/TW' or '10/2022/QH15'."""
        if self.year is None:
            return f"{self.number:02d}-{self.code}/{self.issuer}"
        middle = f"{self.code}-{self.issuer}" if self.code != "Luật" else self.issuer
        return f"{self.number}/{self.year}/{middle}"

    @property
    def kinds(self) -> tuple[str, ...]:
        """Document kinds this code can stand for."""
        return ("Luật",) if self.code == "Luật" else KINDS[self.code]

    @property
    def doc_id(self) -> str:
        """Short id for keys and buttons: '25-nq-tw', '10-2022-qh15'."""
        return "-".join(re.findall(r"[a-z0-9]+", fold(self.text)))

    def kind_for(self, title: str) -> str:
        """The kind, using the title where the code is ambiguous (QĐ: quyết định/quy định)."""
        if len(self.kinds) == 1:
            return self.kinds[0]
        folded = fold(title)
        for kind in self.kinds:
            if folded.startswith(fold(kind)):
                return kind
        return self.kinds[0]


def parse(raw: str) -> SoHieu:
    """Parse a số hiệu; raise BadSoHieu naming the expected shape."""
    text = " ".join(raw.replace("–", "-").split())
    party = _PARTY.match(text)
    if party:
        number, code, issuer = party.groups()
        return _build(int(number), _kind_code(code), issuer, None)
    state = _STATE.match(text)
    if state:
        number, year, code, issuer = state.groups()
        kind = _kind_code(code) if code else "Luật"
        if kind == "Luật" and not re.match(r"^QH\d+$", issuer.upper()):
            raise BadSoHieu(f"số hiệu {raw!r}: thiếu ký hiệu loại văn bản (ví dụ 59/2023/NĐ-CP)")
        return _build(int(number), kind, issuer, int(year))
    raise BadSoHieu(f"số hiệu {raw!r} không đúng dạng: cần dạng 25-NQ/TW (văn bản của Đảng) "
                    "hoặc 10/2022/QH15, 59/2023/NĐ-CP (văn bản nhà nước)")


def _kind_code(code: str) -> str:
    found = _KIND_BY_FOLD.get(fold(code))
    if found is None:
        known = ", ".join(KINDS)
        raise BadSoHieu(f"ký hiệu loại văn bản {code!r} không có trong danh mục ({known})")
    return found


def _build(number: int, code: str, issuer_raw: str, year: int | None) -> SoHieu:
    issuer = issuer_raw.upper()
    if issuer.startswith("DU"):
        issuer = "Đ" + issuer[1:]  # "DU", "DUK" typed without the stroke
    level = next((name for pattern, name in _LEVELS if pattern.match(issuer)), None)
    if level is None:
        raise BadSoHieu(f"không nhận ra cơ quan ban hành {issuer_raw!r} (ví dụ: TW, TU, ĐU, "
                        "ĐUK, HU, CB, QH15, CP)")
    if number == 0:
        raise BadSoHieu("số văn bản phải lớn hơn 0")
    result = SoHieu(number, code, issuer, level, year)
    if len(result.doc_id) > MAX_ID:
        raise BadSoHieu(f"số hiệu {result.text!r} quá dài (tối đa {MAX_ID} ký tự chữ và số)")
    return result


def loose_forms(so_hieu: SoHieu) -> set[str]:
    """Compact spellings people type: '25nq', '25nqtw', 'nq25' for 25-NQ/TW."""
    number, code, issuer = str(so_hieu.number), fold(so_hieu.code), fold(so_hieu.issuer)
    forms = {number + code, number + code + issuer, code + number}
    if so_hieu.number < 10:
        forms |= {f"0{number}{code}", f"0{number}{code}{issuer}"}
    return forms
