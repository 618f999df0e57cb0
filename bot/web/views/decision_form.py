"""The dashboard's decision form, read and checked: decision, answer, note, the criteria ticked
(or "none met"), and, when the decision recognises the model, the Ban Thường vụ's decision —
number, date and the signed PDF — as the chat's confirmation screen takes them.

A problem is one of the codes below; the page is shown again with what was typed, so a
reviewer's long answer is never lost to a typo in the decision number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from aiohttp.web_request import FileField

from bot.library.files import FileStore
from bot.library.models import StoredFile, parse_vn_date
from bot.library.sohieu import BadSoHieu, parse
from bot.proposals.models import Assessment, Decision, Limits, Recognition
from bot.proposals.year import DvkConfig
from bot.web.forms import Form

TICKS = "tieu_chi"  # the checkboxes, one per criterion id
NONE_MET = "tieu_chi_khong_dat"  # "assessed, and no criterion is met"
PDF_LIMIT = 900 * 1024  # under the server's 1 MiB body cap, with room for the other fields

# What each problem code says on the page (the decision is not recorded in any of them).
PROBLEMS = {
    "quyet-dinh": "Quyết định không hợp lệ. Xin đồng chí chọn lại.",
    "do-dai": (f"Ý kiến trả lời cần từ {Limits.ANSWER[0]} đến "
               f"{Limits.ANSWER[1]:,} ký tự, ghi chú tối đa {Limits.NOTE[1]:,} ký tự."
               ).replace(",", "."),
    "tieu-chi": ("Có tiêu chí không nằm trong danh sách tiêu chí đã công bố. Xin đồng chí tải "
                 "lại trang và đánh dấu lại."),
    "tieu-chi-mau-thuan": ("Đồng chí vừa đánh dấu tiêu chí đạt, vừa chọn «chưa đạt tiêu chí "
                           "nào». Xin đồng chí chọn một trong hai."),
    "qd-thieu": ("Quyết định công nhận cần cả số và ngày (ví dụ 125-QĐ/ĐU, ngày 12/12/2026); "
                 "tệp PDF chỉ gửi kèm khi đã có số và ngày."),
    "qd-so": "Số quyết định chưa đúng dạng số hiệu văn bản, ví dụ 125-QĐ/ĐU.",
    "qd-ngay": "Ngày quyết định không hợp lệ; xin ghi theo dạng 12/12/2026.",
    "qd-tep": "Tệp quyết định phải là tệp PDF.",
    "qd-lon": (f"Tệp PDF tối đa {PDF_LIMIT // 1024} KB khi gửi qua trang quản trị; tệp lớn hơn "
               "xin đồng chí gửi qua bot trong cuộc trò chuyện (nhận đến 20 MB)."),
}


@dataclass
class DecisionForm:
    """What the reviewer typed and ticked, kept to show the form again on a problem."""

    decision: str = ""
    version: str = ""
    answer: str = ""
    note: str = ""
    ticked: list[str] = field(default_factory=list)
    none_met: bool = False
    number: str = ""
    day: str = ""
    pdf: FileField | None = None
    problem: str = ""  # a code of PROBLEMS, "" when the form can be recorded
    detail: str = ""  # the số hiệu parser's own explanation, when it has one

    @property
    def message(self) -> str:
        """The Vietnamese sentence for the problem (with the parser's detail, if any)."""
        text = PROBLEMS.get(self.problem, "")
        return f"{text} {self.detail}".strip() if self.detail else text


def read(form: Form, config: DvkConfig, *, recognises: bool) -> DecisionForm:
    """The form, checked in the order a reviewer reads it; `recognises`: the decision field
    names approval at the last level (only then are the decision's number and PDF read)."""
    got = DecisionForm(
        decision=str(form.get("decision", "")), version=str(form.get("version", "")),
        answer=str(form.get("answer", "")).strip(), note=str(form.get("note", "")).strip(),
        ticked=[str(v) for v in form.getall(TICKS, [])], none_met=form.get(NONE_MET) == "1",
        number=" ".join(str(form.get("qd_so", "")).split())[:60],
        day=str(form.get("qd_ngay", "")).strip()[:20])
    upload = form.get("qd_tep")
    if isinstance(upload, FileField) and upload.filename:
        got.pdf = upload
    low, high = Limits.ANSWER
    if got.decision not in {d.value for d in Decision} or not got.version.isdigit():
        got.problem = "quyet-dinh"
    elif not low <= len(got.answer) <= high or len(got.note) > Limits.NOTE[1]:
        got.problem = "do-dai"
    elif config.unknown_criteria(got.ticked):  # a forged or stale form: nothing is recorded
        got.problem = "tieu-chi"
    elif got.ticked and got.none_met:
        got.problem = "tieu-chi-mau-thuan"
    elif recognises and got.decision == Decision.APPROVE.value:
        _check_recognition(got)
    return got


def _check_recognition(got: DecisionForm) -> None:
    if not (got.number or got.day or got.pdf):
        return  # not required, as in the chat
    if not (got.number and got.day):
        got.problem = "qd-thieu"
        return
    try:
        got.number = parse(got.number).text
    except BadSoHieu as exc:
        got.problem, got.detail = "qd-so", str(exc)
        return
    if _day(got.day) is None:
        got.problem = "qd-ngay"
        return
    if got.pdf is not None:
        head = got.pdf.file.read(PDF_LIMIT + 1)
        got.pdf.file.seek(0)
        if not head.startswith(b"%PDF"):
            got.problem = "qd-tep"
        elif len(head) > PDF_LIMIT:
            got.problem = "qd-lon"


def _day(raw: str) -> date | None:
    """The browser's date field (2026-12-12), or a date typed by hand (12/12/2026)."""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    try:
        parsed = parse_vn_date(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, date) else None


async def assessment(got: DecisionForm, config: DvkConfig, files: FileStore) -> Assessment:
    """What the service records: every criterion named once the reviewer assessed (a tick,
    or "none met"); the recognition with its PDF stored — called only for a form without a
    problem, so nothing is stored for a refused one."""
    criteria = config.assessed(got.ticked) if got.ticked or got.none_met else {}
    recognition = None
    day = _day(got.day) if got.number else None
    if day is not None:
        stored: StoredFile | None = None
        if got.pdf is not None:
            name = Path(got.pdf.filename.replace("\\", "/")).name.strip()[:120]
            if not name.lower().endswith(".pdf"):  # the store names files by their suffix
                name = f"{name or 'quyet-dinh'}.pdf"
            stored = await files.put(got.pdf.file.read(), name, limit=PDF_LIMIT)
        recognition = Recognition(number=got.number, day=day, file=stored)
    return Assessment(criteria=criteria, recognition=recognition)
