"""A member answers a survey question by question: buttons (or typed numbers) for choices and
scales, typed text for short answers, "« Câu trước" to go back, a confirmation at the end.

The answers in progress live only in the dialog; on submission they go to the store in one
atomic script and the dialog is discarded. Every press is checked against the dialog (stale or
forged question/option indexes change nothing) and the survey (open, audience, once only).
"""

from __future__ import annotations

from typing import Any

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, vn_datetime
from bot.org.access import Forbidden
from bot.surveys.models import MAX_TEXT, Answer, BadAnswer, Kind, Survey, check_answer
from bot.surveys.skips import answered_upto, next_question, previous, toggled
from bot.surveys.store import ALREADY, NOT_IN_AUDIENCE, REPLACED
from handlers.account.cancel import CANCEL
from handlers.account.menu import BACK
from handlers.shared.picker import arg
from handlers.surveys.ui import MINE, survey_arg

FLOW, STEP = "sv", "sv.text"
STALE = ("Câu hỏi này không còn đang mở để trả lời (có thể đồng chí đã bấm một nút cũ). "
         "Đồng chí gõ /khaosat để tiếp tục.")
CLOSED = "Khảo sát «{title}» đã đóng lúc {at}; câu trả lời không được ghi nhận."
NOT_YET = "Khảo sát «{title}» chưa mở; khảo sát mở lúc {at}."
OUTSIDE = "Khảo sát «{title}» không dành cho đơn vị của đồng chí; câu trả lời không được ghi nhận."
ANSWERED = ("Đồng chí đã trả lời khảo sát «{title}». Mỗi đồng chí chỉ trả lời một lần; "
            "câu trả lời trước đó được giữ nguyên.")


async def begin(request: Request) -> Outcome:
    """"Trả lời khảo sát": check the survey is open to this member, then question 1."""
    survey = await _answerable(request, await survey_arg(request))
    dialog = Dialog(flow=FLOW, step=STEP, data={"sid": survey.id, "q": 0, "answers": []})
    lead = [f"<b>{esc(survey.title)}</b>"]
    if survey.intro:
        lead.append(esc(survey.intro))
    lead.append("Khảo sát ẩn danh: câu trả lời không gắn với tên đồng chí."
                if survey.anonymous else "Khảo sát có ghi tên người trả lời.")
    return _question(request, survey, dialog, "\n".join(lead))


async def pick(request: Request) -> Outcome:
    """A single-choice or scale option was pressed."""
    survey, dialog = await _current(request)
    return await _advance(request, survey, dialog, _index(request, 2))


async def toggle(request: Request) -> Outcome:
    """Tick or untick an option of a multiple-choice question."""
    survey, dialog = await _current(request)
    question = survey.questions[dialog.data["q"]]
    option = _index(request, 2)
    if question.kind is not Kind.MULTI or not 0 <= option < len(question.options):
        raise Forbidden("Phương án không hợp lệ.")
    before: list[int] = list(dialog.data.get("picked", []))
    picked = toggled(question, before, option)
    note = ""
    if len(picked) > question.limit():
        picked = before
        note = f"Chỉ được chọn tối đa {question.limit()} phương án; bỏ chọn một phương án trước."
    return _question(request, survey, dialog.at(STEP, picked=picked), note)


async def done_multi(request: Request) -> Outcome:
    """"Xong" under a multiple-choice question."""
    survey, dialog = await _current(request)
    return await _advance(request, survey, dialog, list(dialog.data.get("picked", [])))


async def typed(request: Request) -> Outcome:
    """Typed text: the answer to a short-answer question."""
    dialog = request.dialog
    survey = await request.deps.surveys.get(str(dialog.data.get("sid"))) if dialog else None
    if survey is None or dialog is None:
        return Outcome([Reply(STALE)])
    if dialog.data["q"] >= len(survey.questions):
        return _confirm(request, survey, dialog, "Xin đồng chí bấm «Gửi câu trả lời».")
    if survey.questions[dialog.data["q"]].kind is not Kind.TEXT:
        return _question(request, survey, dialog, "Câu này trả lời bằng cách chọn phương án "
                                                   "(bấm nút hoặc gõ số thứ tự).")
    return await _advance(request, survey, dialog, request.text)


async def back(request: Request) -> Outcome:
    """"« Câu trước": drop the last answer and ask that question again."""
    survey, dialog = await _current(request, confirming=True)
    answers = list(dialog.data["answers"])
    if not answers:
        return _question(request, survey, dialog, "Đây là câu hỏi đầu tiên.")
    trimmed = previous(answers)  # also drops the questions skipped after it
    last = answers[len(trimmed)]
    # A multiple-choice answer comes back ticked, so going back does not lose the choices.
    picked = list(last) if isinstance(last, list) else []
    return _question(request, survey, dialog.at(STEP, q=len(trimmed), answers=trimmed,
                                                picked=picked))


async def submit(request: Request) -> Outcome:
    """"Gửi câu trả lời": record atomically, discard the dialog, thank the member."""
    survey, dialog = await _current(request, confirming=True)
    if dialog.data["q"] < len(survey.questions):
        return Outcome([Reply(STALE)], dialog=dialog, replace_options=False)
    # The recording script itself checks the snapshot and the done mark (atomically), so no
    # separate status read here: three round trips fewer per submission.
    await _still_open(request, survey)
    result = await request.deps.surveys.record(survey, request.me.id, dialog.data["answers"])
    if result == NOT_IN_AUDIENCE:
        return _ended(OUTSIDE.format(title=esc(survey.title)))
    if result == ALREADY:
        return _ended(ANSWERED.format(title=esc(survey.title)))
    if survey.anonymous:  # the order of writes in the AOF must not outlive a few minutes
        await request.deps.rewrites.soon()
    lead = "Đã cập nhật câu trả lời" if result == REPLACED else "Đã ghi nhận câu trả lời"
    text = (f"✓ {lead} của đồng chí cho khảo sát «{esc(survey.title)}». "
            "Xin cảm ơn đồng chí đã dành thời gian.")
    # No audit entry: for an anonymous survey even "who answered when" must not be stored.
    return Outcome([Reply(text, buttons=rows(MINE, BACK), edit=True)], dialog=None)


async def restart(request: Request) -> Outcome:
    """"Làm lại từ đầu" on the confirmation."""
    survey, dialog = await _current(request, confirming=True)
    return _question(request, survey, dialog.at(STEP, q=0, answers=[], picked=[]))


# ---------------------------------------------------------------------------- helpers
async def _answerable(request: Request, survey: Survey) -> Survey:
    """Open, in the audience snapshot, not answered yet (unless changes are allowed)."""
    await _still_open(request, survey)
    status = await request.deps.surveys.status(survey, request.me.id)
    if status == NOT_IN_AUDIENCE:
        raise Forbidden(OUTSIDE.format(title=esc(survey.title)))
    if status == ALREADY and not survey.allow_change:
        raise Forbidden(ANSWERED.format(title=esc(survey.title)))
    return survey


async def _still_open(request: Request, survey: Survey) -> None:
    """Forbidden (politely) unless the survey is open now."""
    now = request.now()
    if survey.pending:
        raise Forbidden(NOT_YET.format(title=esc(survey.title), at=vn_datetime(survey.opens_at)))
    if not survey.is_open(now):
        if now >= survey.closes_at:
            await request.deps.surveys.retire(survey)
        raise Forbidden(CLOSED.format(title=esc(survey.title), at=vn_datetime(survey.closes_at)))


async def _current(request: Request, *, confirming: bool = False) -> tuple[Survey, Dialog]:
    """The survey of the payload, which must be the one being answered, at that question."""
    dialog = request.dialog
    survey = await survey_arg(request)
    if dialog is None or dialog.flow != FLOW or dialog.data.get("sid") != survey.id:
        raise Forbidden(STALE)
    if not confirming and (len(request.args) < 2 or request.args[1] != str(dialog.data["q"])
                           or dialog.data["q"] >= len(survey.questions)):
        raise Forbidden(STALE)
    return survey, dialog


def _index(request: Request, position: int) -> int:
    raw = arg(request, position)
    if not raw.isdigit() or len(raw) > 2:
        raise Forbidden("Phương án không hợp lệ.")
    return int(raw)


async def _advance(request: Request, survey: Survey, dialog: Dialog, answer: Answer
                   ) -> Outcome:
    """Validate the answer on the server, store it in the dialog, move to the next question."""
    index: int = dialog.data["q"]
    try:
        checked = check_answer(survey.questions[index], answer)
    except BadAnswer as exc:
        return _question(request, survey, dialog, f"{exc} Câu trả lời chưa được ghi.")
    target = next_question(survey, index, checked)  # skip logic of the template
    answers = answered_upto(dialog.data["answers"], target, checked)
    moved = dialog.at(STEP, q=target, answers=answers, picked=[])
    if target < len(survey.questions):
        return _question(request, survey, moved)
    return _confirm(request, survey, moved)


def _question(request: Request, survey: Survey, dialog: Dialog, lead: str = "") -> Outcome:
    """Show the dialog's current question with its answer buttons."""
    index: int = dialog.data["q"]
    question = survey.questions[index]
    dialog = dialog.at(STEP, typing=question.kind is Kind.TEXT)  # digits answer a text question
    sid, q = survey.id, str(index)
    lines = [lead] if lead else []
    lines += [f"<b>Câu {index + 1}/{len(survey.questions)}.</b> {esc(question.text)}"]
    buttons: list[tuple[Button, ...]] = []
    if question.kind is Kind.SINGLE:
        lines.append("Chọn một phương án:")
        buttons += [(Button(o, act("sv.a", sid, q, str(i))),)
                    for i, o in enumerate(question.options)]
    elif question.kind is Kind.SCALE:
        low, high = question.anchors or ("thấp nhất", "cao nhất")
        lines.append(f"Chấm điểm từ 1 ({esc(low)}) đến 5 ({esc(high)}):")
        buttons.append(tuple(Button(str(p + 1), act("sv.a", sid, q, str(p))) for p in range(5)))
    elif question.kind is Kind.MULTI:
        picked = set(dialog.data.get("picked", []))
        lines.append(f"Chọn tối đa {question.limit()} phương án, rồi bấm «Xong»:")
        buttons += [(Button(f"{'☑' if i in picked else '☐'} {o}", act("sv.t", sid, q, str(i))),)
                    for i, o in enumerate(question.options)]
        buttons.append((Button("Xong ›", act("sv.n", sid, q)),))
    else:
        lines.append(f"Đồng chí gõ câu trả lời (tối đa {MAX_TEXT:,} ký tự).".replace(",", "."))
    nav = [Button("« Câu trước", act("sv.b", sid))] if index > 0 else []
    buttons.append((*nav, CANCEL))
    edit = request.incoming.action is not None
    return Outcome([Reply("\n".join(lines), buttons=tuple(buttons), edit=edit)], dialog=dialog)


def _confirm(request: Request, survey: Survey, dialog: Dialog, lead: str = "") -> Outcome:
    """Every answer in words, then send / back / start over."""
    dialog = dialog.at(STEP, typing=False)
    lines = [lead] if lead else []
    lines.append(f"<b>Xác nhận câu trả lời — {esc(survey.title)}</b>")
    for index, answer in enumerate(dialog.data["answers"]):
        lines.append(f"{index + 1}. {esc(_words(survey, index, answer))}")
    sid = survey.id
    buttons = rows(Button("✓ Gửi câu trả lời", act("sv.ok", sid)),
                   Button("« Câu trước", act("sv.b", sid)),
                   Button("Làm lại từ đầu", act("sv.re", sid)), CANCEL)
    edit = request.incoming.action is not None
    return Outcome([Reply("\n".join(lines), buttons=buttons, edit=edit)], dialog=dialog)


def _words(survey: Survey, index: int, answer: Any) -> str:
    if answer is None:
        return "(bỏ qua — không áp dụng)"
    choices = survey.questions[index].choices()
    if isinstance(answer, list):
        return "; ".join(choices[i] for i in answer)
    return choices[answer] if isinstance(answer, int) else str(answer)


def _ended(text: str) -> Outcome:
    return Outcome([Reply(text, buttons=rows(MINE, BACK))], dialog=None)


def register(router: Router) -> None:
    """Register the answering buttons and the typed-answer step."""
    router.action("sv.go", begin)
    router.action("sv.a", pick)
    router.action("sv.t", toggle)
    router.action("sv.n", done_multi)
    router.action("sv.b", back)
    router.action("sv.ok", submit)
    router.action("sv.re", restart)
    router.step(STEP, typed, text=lambda d: bool(d.data.get("typing")))
