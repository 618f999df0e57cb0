"""Self-check quizzes: one question at a time by buttons, then the score and the explanations.

The quiz lives in the dialog (material, question number, answers so far). A press for another
material or another question than the one on screen is stale or forged and changes nothing.
"""

from __future__ import annotations

from typing import Any

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, short
from bot.library.models import Material, Question, Record
from bot.org.access import Forbidden
from handlers.account.cancel import CANCEL
from handlers.account.menu import BACK
from handlers.library.ui import NOT_FOUND, arg, record_of

FLOW = "quiz"
STEP = "quiz.q"
LETTERS = "ABCDEF"
STALE = "Câu hỏi này không còn trên màn hình. Mời đồng chí trả lời câu đang hiện:"


async def start(request: Request) -> Outcome:
    """Begin (or restart) the quiz of a material."""
    record, material = await _material(request, arg(request, 0))
    dialog = Dialog(flow=FLOW, step=STEP, data={"doc": material.id, "digest": record.digest,
                                                "q": 0, "answers": [], "pick": []})
    return _ask(request, material, dialog)


async def answer(request: Request) -> Outcome:
    """An option pressed: single-answer questions move on, multi-answer ones toggle it."""
    doc_id, q, option = arg(request, 0), arg(request, 1), arg(request, 2)
    record, material, dialog = await _current(request, doc_id)
    if str(dialog.data["q"]) != q or not option.isdigit():
        return _ask(request, material, dialog, lead=STALE)
    return await _choose(request, record, material, dialog, int(option))


async def confirm(request: Request) -> Outcome:
    """"Xác nhận" for a multi-answer question."""
    doc_id, q = arg(request, 0), arg(request, 1)
    record, material, dialog = await _current(request, doc_id)
    if str(dialog.data["q"]) != q:
        return _ask(request, material, dialog, lead=STALE)
    pick = sorted(int(p) for p in dialog.data["pick"])
    if not pick:
        return _ask(request, material, dialog, lead="Đồng chí chưa chọn đáp án nào.")
    return await _next(request, record, material, dialog, pick)


async def typed(request: Request) -> Outcome:
    """A letter or number typed instead of pressing a button (channels without buttons)."""
    assert request.dialog is not None
    record, material, dialog = await _current(request, str(request.dialog.data["doc"]))
    raw = request.text.strip().upper()
    option = LETTERS.find(raw) + 1 if len(raw) == 1 and raw in LETTERS else 0
    if option == 0:
        return _ask(request, material, dialog, lead="Đồng chí trả lời bằng chữ cái A, B, C…")
    return await _choose(request, record, material, dialog, option)


async def _choose(request: Request, record: Record, material: Material, dialog: Dialog,
                  option: int) -> Outcome:
    question = material.quiz[int(dialog.data["q"])]
    if not 1 <= option <= len(question.options):
        return _ask(request, material, dialog, lead=STALE)
    if not question.multi:
        return await _next(request, record, material, dialog, [option])
    pick = set(dialog.data["pick"]) ^ {option}
    return _ask(request, material, dialog.at(STEP, pick=sorted(pick)))


async def _next(request: Request, record: Record, material: Material, dialog: Dialog,
                chosen: list[int]) -> Outcome:
    answers = [*dialog.data["answers"], chosen]
    index = int(dialog.data["q"]) + 1
    if index < len(material.quiz):
        return _ask(request, material, dialog.at(STEP, q=index, answers=answers, pick=[]))
    return await _finish(request, material, answers)


async def _finish(request: Request, material: Material, answers: list[list[int]]) -> Outcome:
    score = sum(sorted(a) == sorted(q.correct) for q, a in zip(material.quiz, answers,
                                                                strict=True))
    best = await request.deps.library.record_quiz(request.me.id, material.id, score)
    total = len(material.quiz)
    lines = [f"<b>Kết quả bài tự kiểm tra: {esc(material.title)}</b>",
             f"Đồng chí trả lời đúng <b>{score}/{total}</b> câu. "
             f"Kết quả cao nhất của đồng chí: {best}/{total}.", ""]
    for number, (question, given) in enumerate(zip(material.quiz, answers, strict=True), 1):
        lines += _explain(number, question, given)
    acked = await request.deps.library.has_acked(material.id, request.me.id)
    buttons = [Button("Làm lại", act("qz", material.id))]
    if not acked:
        buttons.append(Button("Xác nhận đã nghiên cứu", act("doc.ok", material.id)))
    buttons.append(Button("« Về tài liệu", act("doc", material.id)))
    return Outcome([Reply("\n".join(lines).rstrip(), buttons=rows(*buttons, BACK))])


def _explain(number: int, question: Question, given: list[int]) -> list[str]:
    right = sorted(given) == sorted(question.correct)
    correct = "; ".join(f"{LETTERS[c - 1]}. {question.options[c - 1]}" for c in question.correct)
    lines = [f"{'✓' if right else '✗'} <b>Câu {number}.</b> {esc(question.question)}",
             f"Đáp án đúng: {esc(correct)}"]
    if not right:
        picked = ", ".join(LETTERS[g - 1] for g in given)
        lines.append(f"Đồng chí chọn: {picked}")
    if question.explanation:
        lines.append(f"<i>{esc(question.explanation)}</i>")
    return [*lines, ""]


def _ask(request: Request, material: Material, dialog: Dialog, *, lead: str = "") -> Outcome:
    index = int(dialog.data["q"])
    question = material.quiz[index]
    pick = {int(p) for p in dialog.data["pick"]}
    how = ("Chọn <b>tất cả</b> đáp án đúng rồi bấm <b>Xác nhận</b>." if question.multi
           else "Chọn một đáp án.")
    lines = [lead, f"<b>Bài tự kiểm tra: {esc(material.title)}</b>",
             f"Câu {index + 1}/{len(material.quiz)}: {esc(question.question)}",
             *(f"{LETTERS[n]}. {esc(option)}" for n, option in enumerate(question.options)),
             how]
    buttons = []
    for n, option in enumerate(question.options, start=1):
        box = ("☑ " if n in pick else "☐ ") if question.multi else ""
        buttons.append(Button(short(f"{box}{LETTERS[n - 1]}. {option}", 48),
                              act("qz.a", material.id, str(index), str(n))))
    if question.multi:
        buttons.append(Button("Xác nhận", act("qz.ok", material.id, str(index))))
    edit = request.incoming.action is not None
    reply = Reply("\n".join(line for line in lines if line), buttons=rows(*buttons, CANCEL),
                  edit=edit)
    return Outcome([reply], dialog=dialog)


async def _material(request: Request, doc_id: str) -> tuple[Record, Material]:
    record = await record_of(request, doc_id)
    if not isinstance(record.doc, Material) or not record.doc.quiz:
        raise Forbidden(NOT_FOUND)
    return record, record.doc


async def _current(request: Request, doc_id: str) -> tuple[Record, Material, Dialog]:
    """The open quiz for this material; a press without one (or for another) starts over."""
    record, material = await _material(request, doc_id)
    dialog = request.dialog
    data: dict[str, Any] = dialog.data if dialog is not None else {}
    if (dialog is None or dialog.flow != FLOW or data.get("doc") != doc_id
            or data.get("digest") != record.digest):
        raise Forbidden("Bài tự kiểm tra này chưa bắt đầu hoặc đã thay đổi. "
                        "Đồng chí mở lại tài liệu và bấm «Làm bài tự kiểm tra».")
    return record, material, dialog


def register(router: Router) -> None:
    """Register the quiz buttons and the typed-answer step."""
    router.action("qz", start)
    router.action("qz.a", answer)
    router.action("qz.ok", confirm)
    router.step(STEP, typed, text=False)  # letters or option numbers
