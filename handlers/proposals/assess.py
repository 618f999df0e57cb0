"""What a reviewer adds to a decision before confirming it: a tick for each of the reviewing
level's criteria (content/dan-van-kheo.yaml), and, when the decision recognises the model, the
number and date of the Ban Thường vụ's decision ("125-QĐ/ĐU ngày 12/12/2026"). Both are
offered on the confirmation screen; the ticks go into the history and the export.
"""

from __future__ import annotations

import re
from datetime import date

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, FileUnavailable, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, nfc
from bot.library.files import FileTooBig, human_size, upload_limit
from bot.library.models import StoredFile, parse_vn_date
from bot.library.sohieu import BadSoHieu, parse
from bot.library.status import vn_day
from bot.org import access
from bot.proposals.models import Assessment, Decision, Proposal, Recognition
from bot.proposals.render import criteria_text
from handlers.account.cancel import CANCEL
from handlers.proposals.ui import arg

FLOW = "rv"
VERBS = {Decision.RETURN: "Trả lại để bổ sung", Decision.REJECT: "Không chấp nhận"}
DECISION = re.compile(r"^(?:quyết định\s+)?(?:số\s+)?(\S+)\s*(?:,|ngày)?\s*(?:ngày\s+)?"
                      r"(\d{1,2}/\d{1,2}/\d{4})$", re.IGNORECASE)
ASK = ("Số và ngày quyết định công nhận của Ban Thường vụ, ví dụ: "
       "<code>125-QĐ/ĐU ngày 12/12/2026</code>. Đồng chí có thể gửi kèm tệp PDF quyết định "
       "(trước hoặc sau khi nhập số).")


def verb(decision: Decision, p: Proposal) -> str:
    """The button's and the confirmation's name of a decision at this level."""
    if decision is Decision.APPROVE:
        return "Công nhận" if recognises(decision, p) else "Thẩm định đạt"
    return VERBS[decision]


def recognises(decision: Decision, p: Proposal) -> bool:
    """True when approving at the last level (the decision recognises the model)."""
    return decision is Decision.APPROVE and p.level + 1 >= len(p.route)


async def summary(request: Request, dialog: Dialog) -> Outcome:
    """The confirmation screen, with the assessment so far and the buttons to add to it."""
    data = dialog.data
    p = await _proposal(request, str(data["code"]))
    decision = Decision(str(data["decision"]))
    note_text = str(data.get("note", ""))
    lines = [f"<b>Xác nhận: {verb(decision, p)}</b> đề xuất {p.code} «{esc(p.name)}»",
             f"Ý kiến trả lời chính thức: {esc(data['answer'])}",
             f"Ghi chú nội bộ: {esc(note_text) if note_text else 'không có'}"]
    criteria = request.deps.dvk.config.criteria
    buttons = [Button("✓ Xác nhận", act("rv.go", p.code, str(data["version"])))]
    if criteria:
        ticked = assessment_of(request, dialog).criteria
        lines.append(f"Tiêu chí: {esc(criteria_text(ticked)) if ticked else 'chưa đánh giá'}")
        buttons.append(Button("Đánh giá theo tiêu chí", act("rv.cr")))
    if recognises(decision, p):
        number, day = data.get("qd_no"), data.get("qd_day")
        lines.append(f"Quyết định công nhận: số {esc(number)} ngày "
                     f"{vn_day(date.fromisoformat(str(day)))}" if number and day else
                     "Quyết định công nhận: chưa nhập (không bắt buộc)")
        if data.get("qd_file"):
            lines.append("Tệp PDF quyết định: đã nhận")
        buttons.append(Button("Nhập số, ngày quyết định công nhận", act("rv.qd")))
    return Outcome([Reply("\n".join(lines), buttons=rows(*buttons, CANCEL))],
                   dialog=dialog.at("rv.confirm"))


def assessment_of(request: Request, dialog: Dialog) -> Assessment:
    """The criteria ticked (every configured one named, once the reviewer assessed) and the
    recognition decision typed."""
    data = dialog.data
    criteria: dict[str, int] = {}
    if "crit" in data:
        criteria = request.deps.dvk.config.assessed(data["crit"])
    recognition = None
    if data.get("qd_no") and data.get("qd_day"):
        pdf = data.get("qd_file")
        recognition = Recognition(number=str(data["qd_no"]),
                                  day=date.fromisoformat(str(data["qd_day"])),
                                  file=StoredFile.model_validate(pdf) if pdf else None)
    return Assessment(criteria=criteria, recognition=recognition)


async def criteria_screen(request: Request) -> Outcome:
    """"Đánh giá theo tiêu chí": one toggle per criterion, then «Xong»."""
    return _criteria(request, _confirming(request))


def _criteria(request: Request, dialog: Dialog) -> Outcome:
    ticked = set(dialog.data.get("crit", []))
    buttons = [Button(f"{'☑' if c.id in ticked else '☐'} {c.name}", act("rv.ct", c.id))
               for c in request.deps.dvk.config.criteria]
    text = ("<b>Đánh giá theo tiêu chí</b>\nĐồng chí đánh dấu các tiêu chí mô hình đạt "
            "(bấm lần nữa để bỏ dấu), rồi bấm «Xong».")
    return Outcome([Reply(text, buttons=rows(*buttons, Button("Xong ›", act("rv.cf"))))],
                   dialog=dialog.at("rv.confirm", crit=sorted(ticked)))


async def toggle(request: Request) -> Outcome:
    """Tick or untick one criterion."""
    dialog = _confirming(request)
    known = {c.id for c in request.deps.dvk.config.criteria}
    item = arg(request, 0)
    if item not in known:
        raise access.Forbidden("Tiêu chí không hợp lệ.")
    ticked = set(dialog.data.get("crit", [])) ^ {item}
    return _criteria(request, dialog.at("rv.confirm", crit=sorted(ticked)))


async def criteria_done(request: Request) -> Outcome:
    """«Xong»: back to the confirmation screen."""
    dialog = _confirming(request)
    return await summary(request, dialog.at("rv.confirm", crit=dialog.data.get("crit", [])))


async def ask_decision(request: Request) -> Outcome:
    """Ask for the recognition decision's number and date."""
    dialog = _confirming(request)
    return Outcome([Reply(ASK, buttons=rows(CANCEL))], dialog=dialog.at("rv.qdt"))


async def typed_decision(request: Request) -> Outcome:
    """"125-QĐ/ĐU ngày 12/12/2026": checked, then back to the confirmation screen."""
    dialog = request.dialog
    if dialog is None or dialog.flow != FLOW or dialog.step != "rv.qdt":
        raise access.Forbidden("Không có quyết định nào đang soạn. Bấm «Đề xuất tiếp theo».")
    if request.incoming.file is not None:
        return await _pdf(request, dialog)
    found = DECISION.match(" ".join(nfc(request.text).split()))
    problem = "" if found else "Chưa đọc được số và ngày."
    number, day = "", None
    if found:
        try:
            number = parse(found.group(1)).text
        except BadSoHieu as exc:
            problem = str(exc)
        try:
            parsed = parse_vn_date(found.group(2))
            day = parsed if isinstance(parsed, date) else None
        except ValueError:
            problem = problem or f"Ngày {found.group(2)} không hợp lệ."
    if day is None or problem:
        return Outcome([Reply(f"{esc(problem or 'Ngày không hợp lệ.')} {ASK}",
                              buttons=rows(CANCEL))], dialog=dialog)
    return await summary(request, dialog.at("rv.confirm", qd_no=number,
                                            qd_day=day.isoformat()))


async def _pdf(request: Request, dialog: Dialog) -> Outcome:
    """The signed decision as a PDF: checked, stored; the number is still asked if missing."""
    file = request.incoming.file
    assert file is not None
    limit = upload_limit(request.incoming.channel)
    pdf = file.mime_type == "application/pdf" or file.filename.lower().endswith(".pdf")
    problem = ("Bot chỉ nhận tệp PDF của quyết định." if file.kind != "document" or not pdf else
               f"Tệp nặng {human_size(file.size)}, vượt giới hạn {human_size(limit)}."
               if file.size > limit else
               "Ứng dụng này chưa hỗ trợ gửi tệp." if file.fetch is None else "")
    if not problem and file.fetch is not None:
        try:
            data = await file.fetch()
            if not data.startswith(b"%PDF"):
                raise FileUnavailable("not a PDF")
            stored = await request.deps.library.files.put(
                data, file.filename.strip() or "quyet-dinh.pdf", limit=limit)
        except (FileUnavailable, FileTooBig):
            problem = "Bot chưa nhận được tệp PDF này. Xin đồng chí gửi lại."
        else:
            moved = dialog.at("rv.qdt", qd_file=stored.model_dump(mode="json"))
            if moved.data.get("qd_no"):
                return await summary(request, moved)
            return Outcome([Reply(f"Đã nhận tệp PDF. {ASK}", buttons=rows(CANCEL))],
                           dialog=moved)
    return Outcome([Reply(f"{problem} {ASK}", buttons=rows(CANCEL))], dialog=dialog)


def _confirming(request: Request) -> Dialog:
    dialog = request.dialog
    if dialog is None or dialog.flow != FLOW or dialog.step != "rv.confirm":
        raise access.Forbidden("Không có quyết định nào đang chờ xác nhận. Bấm «Đề xuất tiếp "
                               "theo».")
    return dialog


async def _proposal(request: Request, code: str) -> Proposal:
    p = await request.deps.proposals.store.get(code)
    if p is None:
        raise access.Forbidden("Không tìm thấy đề xuất này.")
    return p


def register(router: Router) -> None:
    """Register the assessment buttons and the decision-number step."""
    router.action("rv.cr", criteria_screen)
    router.action("rv.ct", toggle)
    router.action("rv.cf", criteria_done)
    router.action("rv.qd", ask_decision)
    router.step("rv.qdt", typed_decision, files=True)
