"""Số hiệu (document numbers) of Party and State documents: parse, normalize, explain.

Party documents are written ``<số>-<loại>/<cơ quan>``: ``25-NQ/TW`` is Nghị quyết số 25 of the
Central Committee level, ``12-CT/TU`` a Chỉ thị of a Tỉnh ủy, ``11-QĐi/TW`` a Quy định of the Bộ
Chính trị, ``33-HD/BTCTW`` a Hướng dẫn of the Ban Tổ chức Trung ương. State documents are written
``<số>/<năm>/<loại>-<cơ quan>`` (``59/2023/NĐ-CP``, ``01/2021/TT-BNV``), without the year for
individual acts (``16/CT-TTg``, ``125/QĐ-TTg``) or, for laws, ``<số>/<năm>/QH<khóa>``. The kind
codes differ between the two systems: TT is a Thông tri of the Party but a Thông tư of the State.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.formatting import fold

MAX_ID = 20  # document ids travel in button payloads (64 bytes with a unit id beside them)

# Kind codes (as in Hướng dẫn về thể thức văn bản của Đảng) -> the kinds they may stand for.
# "QĐ" is both Quyết định and Quy định: the title or the front matter decides; "QĐi" is the code
# the Bộ Chính trị and Ban Bí thư give some of their Quy định.
KINDS: dict[str, tuple[str, ...]] = {
    "NQ": ("Nghị quyết",), "CT": ("Chỉ thị",), "KL": ("Kết luận",),
    "QĐ": ("Quyết định", "Quy định"), "QĐi": ("Quy định",), "QC": ("Quy chế",),
    "KH": ("Kế hoạch",), "HD": ("Hướng dẫn",), "TB": ("Thông báo",), "CTr": ("Chương trình",),
    "ĐA": ("Đề án",), "BC": ("Báo cáo",), "TT": ("Thông tri",), "CV": ("Công văn",),
    "NĐ": ("Nghị định",), "PL": ("Pháp lệnh",),
}
# Kind codes of State documents (Nghị định 30/2020/NĐ-CP, Phụ lục III).
STATE_KINDS: dict[str, tuple[str, ...]] = {
    "NQ": ("Nghị quyết",), "NĐ": ("Nghị định",), "QĐ": ("Quyết định",), "CT": ("Chỉ thị",),
    "TT": ("Thông tư",), "TTLT": ("Thông tư liên tịch",), "PL": ("Pháp lệnh",),
    "KH": ("Kế hoạch",), "HD": ("Hướng dẫn",), "TB": ("Thông báo",), "BC": ("Báo cáo",),
    "QC": ("Quy chế",), "QyĐ": ("Quy định",), "CĐ": ("Công điện",),
}
_KIND_BY_FOLD = {fold(code): code for code in KINDS}
_STATE_KIND_BY_FOLD = {fold(code): code for code in STATE_KINDS}

# Party issuer codes -> level, tried in order (the first matching rule wins).
_LEVELS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^[A-ZĐ]*TW$"), "Trung ương"),
    (re.compile(r"^[A-ZĐ]*TU$"), "Tỉnh ủy, Thành ủy"),
    (re.compile(r"^ĐUK[A-ZĐ]*$"), "Đảng ủy Khối"),
    (re.compile(r"^[A-ZĐ]*(HU|QU|TXU|THU)$"), "Huyện ủy, Quận ủy, Thị ủy, Thành ủy"),
    (re.compile(r"^[A-ZĐ]*ĐU[A-ZĐ]*$"), "Đảng ủy"),
    (re.compile(r"^CB[A-ZĐ0-9]*$"), "Chi bộ"),
)
# State issuer codes -> level.
_STATE_LEVELS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^QH\d*$"), "Quốc hội"),
    (re.compile(r"^UBTVQH\d*$"), "Ủy ban Thường vụ Quốc hội"),
    (re.compile(r"^CP$"), "Chính phủ"),
    (re.compile(r"^TTg$"), "Thủ tướng Chính phủ"),
    (re.compile(r"^(VPCP|TTCP|NHNN)$"), "Cơ quan ngang bộ, cơ quan thuộc Chính phủ"),
    (re.compile(r"^B[A-ZĐ]{1,8}$"), "Bộ"),
    (re.compile(r"^UBND$"), "Ủy ban nhân dân"),
    (re.compile(r"^HĐND$"), "Hội đồng nhân dân"),
)
_PARTY = re.compile(r"^(\d{1,5})\s*-\s*([A-Za-zĐđ]{2,4})\s*/\s*([A-Za-zĐđ]{2,12})$")
_STATE = re.compile(r"^(\d{1,5})\s*/\s*(?:(\d{4})\s*/\s*)?(?:([A-Za-zĐđ]{2,4})\s*-\s*)?"
                    r"([A-Za-zĐđ]{2,10}\d{0,2})$")
_SHAPES = ("cần dạng 25-NQ/TW, 11-QĐi/TW (văn bản của Đảng) hoặc 10/2022/QH15, "
           "59/2023/NĐ-CP, 16/CT-TTg (văn bản nhà nước)")


class BadSoHieu(ValueError):
    """The số hiệu does not follow a known pattern; the message says how it should look."""


@dataclass(frozen=True)
class SoHieu:
    """A parsed số hiệu: `text` is the normalized form shown to people."""

    number: int
    code: str  # kind code, e.g. "NQ"
    issuer: str  # issuer code, e.g. "TW"
    level: str  # e.g. "Trung ương"
    year: int | None = None  # most state documents carry their year
    state: bool = False  # a State document (its kind codes differ from the Party's)

    @property
    def text(self) -> str:
        """Normalized spelling, e.g. '25-NQ/TW', '10/2022/QH15' or '16/CT-TTg'."""
        if not self.state:
            return f"{self.number:02d}-{self.code}/{self.issuer}"
        middle = f"{self.code}-{self.issuer}" if self.code != "Luật" else self.issuer
        return f"{self.number:02d}/{middle}" if self.year is None else (
            f"{self.number:02d}/{self.year}/{middle}")

    @property
    def kinds(self) -> tuple[str, ...]:
        """Document kinds this code can stand for."""
        if self.code == "Luật":
            return ("Luật",)
        return STATE_KINDS[self.code] if self.state else KINDS[self.code]

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
        return _party(int(number), _kind_code(code, _KIND_BY_FOLD, KINDS), issuer, raw)
    state = _STATE.match(text)
    if state:
        number, year, code, issuer = state.groups()
        return _state(int(number), int(year) if year else None, code, issuer, raw)
    raise BadSoHieu(f"Số hiệu {raw!r} không đúng dạng: {_SHAPES}.")


def _kind_code(code: str, by_fold: dict[str, str], kinds: dict[str, tuple[str, ...]]) -> str:
    found = by_fold.get(fold(code))
    if found is None:
        raise BadSoHieu(f"Ký hiệu loại văn bản {code!r} không có trong danh mục "
                        f"({', '.join(kinds)}).")
    return found


def _party(number: int, code: str, issuer_raw: str, raw: str) -> SoHieu:
    issuer = issuer_raw.upper()
    if issuer.startswith("DU"):
        issuer = "Đ" + issuer[1:]  # "DU", "DUK" typed without the stroke
    level = _level_of(issuer, _LEVELS)
    if level is None:
        raise BadSoHieu(f"Không nhận ra cơ quan ban hành {issuer_raw!r} (ví dụ: TW, BTCTW, TU, "
                        "ĐU, ĐUK, HU, CB).")
    return _checked(SoHieu(number, code, issuer, level))


def _state(number: int, year: int | None, code_raw: str | None, issuer_raw: str,
           raw: str) -> SoHieu:
    issuer = _state_issuer(issuer_raw)
    level = _level_of(issuer, _STATE_LEVELS)
    if level is None:
        if _level_of(issuer_raw.upper(), _LEVELS) is not None:
            raise BadSoHieu(f"Số hiệu {raw!r} không đúng dạng: văn bản của Đảng viết số trước, "
                            "gạch ngang, rồi loại/cơ quan (ví dụ 25-NQ/TW).")
        raise BadSoHieu(f"Không nhận ra cơ quan ban hành {issuer_raw!r} (ví dụ: QH15, CP, TTg, "
                        "BNV, UBND).")
    if code_raw is None:
        if not re.match(r"^QH\d+$", issuer):
            raise BadSoHieu(f"Số hiệu {raw!r}: thiếu ký hiệu loại văn bản "
                            "(ví dụ 59/2023/NĐ-CP, 16/CT-TTg).")
        if year is None:
            raise BadSoHieu(f"Số hiệu {raw!r}: luật cần có năm (ví dụ 10/2022/QH15).")
        return _checked(SoHieu(number, "Luật", issuer, level, year, state=True))
    code = _kind_code(code_raw, _STATE_KIND_BY_FOLD, STATE_KINDS)
    return _checked(SoHieu(number, code, issuer, level, year, state=True))


def _state_issuer(raw: str) -> str:
    """'ttg' -> 'TTg', 'hdnd' -> 'HĐND', 'bgddt' -> 'BGDĐT' (spellings State documents use)."""
    upper = raw.upper()
    if upper == "TTG":
        return "TTg"
    if upper == "HDND":
        return "HĐND"
    if upper == "BGDDT":
        return "BGDĐT"
    return upper


def _level_of(issuer: str, levels: tuple[tuple[re.Pattern[str], str], ...]) -> str | None:
    return next((name for pattern, name in levels if pattern.match(issuer)), None)


def _checked(result: SoHieu) -> SoHieu:
    if result.number == 0:
        raise BadSoHieu("Số văn bản phải lớn hơn 0.")
    if len(result.doc_id) > MAX_ID:
        raise BadSoHieu(f"Số hiệu {result.text!r} quá dài (tối đa {MAX_ID} ký tự chữ và số).")
    return result


def loose_forms(so_hieu: SoHieu) -> set[str]:
    """Compact spellings people type: '25nq', '25nqtw', 'nq25' for 25-NQ/TW."""
    number, code, issuer = str(so_hieu.number), fold(so_hieu.code), fold(so_hieu.issuer)
    forms = {number + code, number + code + issuer, code + number}
    if so_hieu.number < 10:
        forms |= {f"0{number}{code}", f"0{number}{code}{issuer}"}
    return forms
