"""The guided form: a cadre writes a survey in the chat, step by step — the title, then each
question (type, text, options one per line, the max of a multiple choice), up to 10 — reviews
it, and goes on to the settings of survey_create (unit, anonymity, visibility, times).

A template can be the starting point ("Sửa một mẫu"): its questions fill the form. The draft
lives in the dialog (Redis, with the conversation TTL), so a restart loses nothing, and a
refused value leaves the draft as it was. The scope is checked again at every step.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, nfc, short
from bot.org import access
from bot.org.models import Role
from bot.surveys.models import MAX_OPTIONS, MAX_QUESTIONS, Kind, Question, Spec
from bot.surveys.templates import TemplateError, load_templates
from handlers.account.cancel import CANCEL
from handlers.shared.picker import arg
from handlers.surveys.create import REFUSAL, start_settings

FLOW = "svf"
TITLE, KIND, TEXT, OPTIONS, MAX, MENU = ("svf.title", "svf.kind", "svf.text", "svf.opts",
                                         "svf.max", "svf.menu")
TITLE_LEN, QUESTION_LEN, OPTION_LEN = (3, 150), (3, 300), (1, 100)
STALE = ("Không có khảo sát nào đang soạn (bản nháp đã hết hạn hoặc đã chuyển sang bước cài "
         "đặt). Đồng chí chọn «Tạo khảo sát» để soạn mới.")
KIND_HELP = {Kind.SINGLE: "chọn một phương án", Kind.MULTI: "chọn nhiều phương án, có giới hạn",
             Kind.SCALE: "chấm điểm từ 1 đến 5", Kind.TEXT: "trả lời ngắn bằng chữ"}
ADD = Button("➕ Thêm câu hỏi", act("svf.add"))
REVIEW = Button("Xong, xem lại ›", act("svf.rv"))


async def begin(request: Request) -> Outcome:
    """"Soạn khảo sát mới": ask for the title."""
    await _scope(request)
    dialog = Dialog(flow=FLOW, step=TITLE, data={"title": "", "questions": []})
    return _ask(dialog, "<b>Soạn khảo sát mới</b>\nĐồng chí lần lượt nhập tiêu đề, rồi từng câu "
                f"hỏi (tối đa {MAX_QUESTIONS} câu), xem lại, rồi chọn đơn vị và cài đặt. Gõ /huy "
                f"để dừng.\n\n{_title_prompt()}")


async def templates(request: Request) -> Outcome:
    """"Sửa một mẫu": the templates to start from."""
    await _scope(request)
    found = _load(request)
    buttons = [Button(f"Sửa mẫu: {short(t.spec.title, 48)}", act("svf.tpl", t.id)) for t in found]
    text = ("<b>Sửa một mẫu</b>\nChọn mẫu: các câu hỏi của mẫu được chép vào bản soạn, đồng chí "
            "thêm, bớt câu hoặc đổi tiêu đề rồi mới mở.")
    return Outcome([Reply(text, buttons=rows(*buttons, CANCEL))])


async def from_template(request: Request) -> Outcome:
    """A template chosen for editing: its title and questions become the draft."""
    await _scope(request)
    wanted = arg(request, 0)
    found = [t for t in _load(request) if t.id == wanted]
    if not found:
        raise access.Forbidden("Không tìm thấy mẫu khảo sát này.")
    spec = found[0].spec
    dialog = Dialog(flow=FLOW, step=MENU, data={
        "title": spec.title,
        "questions": [q.model_dump(mode="json") for q in spec.questions]})
    return _review(dialog, lead="Đã chép mẫu vào bản soạn.")


async def typed(request: Request) -> Outcome:
    """Text at a form step: the title, a question's text, its options or its max."""
    dialog = await _form(request)
    value = nfc(request.text).strip()
    if dialog.step == TITLE:
        problem = _length("Tiêu đề", value, TITLE_LEN)
        if problem:
            return _again(request, f"{problem}\n{_title_prompt()}")
        if dialog.data.get("questions"):
            return _review(dialog.at(MENU, title=value), lead="Đã đổi tiêu đề.")
        return _ask_kind(dialog.at(KIND, title=value), lead=f"Tiêu đề: <b>{esc(value)}</b>")
    if dialog.step == TEXT:
        problem = _length("Nội dung câu hỏi", value, QUESTION_LEN)
        if problem:
            return _again(request, f"{problem}\n{_text_prompt(dialog)}")
        pending = {**dialog.data.get("q", {}), "text": value}
        if Kind(pending["kind"]) in (Kind.SINGLE, Kind.MULTI):
            return _ask(dialog.at(OPTIONS, q=pending), _options_prompt())
        return _add(dialog, pending)
    if dialog.step == OPTIONS:
        options = [nfc(line).strip(" \t-•*") for line in request.text.splitlines()]
        options = [o for o in options if o]
        problem = _options_problem(options)
        if problem:
            return _again(request, f"{problem}\n{_options_prompt()}")
        pending = {**dialog.data.get("q", {}), "options": options}
        if Kind(pending["kind"]) is Kind.MULTI:
            return _ask_max(dialog.at(MAX, q=pending))
        return _add(dialog, pending)
    if dialog.step == MAX:
        return _set_max(request, dialog, value)
    # Steps that wait for a button (type, menu): keep everything and point to the buttons.
    return Outcome([Reply("Xin đồng chí chọn bằng các nút (hoặc gõ số thứ tự) ở trên.")],
                   dialog=dialog, replace_options=False)


async def pick_kind(request: Request) -> Outcome:
    """A question type button."""
    dialog = await _form(request, KIND)
    raw = arg(request, 0)
    if raw not in {k.value for k in Kind}:
        raise access.Forbidden("Loại câu hỏi không hợp lệ.")
    kind = Kind(raw)
    dialog = dialog.at(TEXT, q={"kind": kind.value})
    return _ask(dialog, f"Loại câu hỏi: <b>{kind.label}</b>.\n{_text_prompt(dialog)}")


async def pick_max(request: Request) -> Outcome:
    """A "Tối đa n" button of a multiple choice."""
    dialog = await _form(request, MAX)
    return _set_max(request, dialog, arg(request, 0))


async def add(request: Request) -> Outcome:
    """"Thêm câu hỏi" (refused politely at the limit)."""
    dialog = await _form(request, MENU)
    if len(dialog.data.get("questions", [])) >= MAX_QUESTIONS:
        return _review(dialog, lead=f"Khảo sát đã đủ {MAX_QUESTIONS} câu hỏi, không thêm được "
                       "nữa.")
    return _ask_kind(dialog.at(KIND, q={}))


async def review(request: Request) -> Outcome:
    """"Xong, xem lại" (also from the type step: the unfinished question is dropped)."""
    return _review(await _form(request))


async def drop_last(request: Request) -> Outcome:
    """"Xóa câu cuối"."""
    dialog = await _form(request, MENU)
    questions = list(dialog.data.get("questions", []))
    if not questions:
        return _ask_kind(dialog.at(KIND, q={}), lead="Bản soạn chưa có câu hỏi nào.")
    questions.pop()
    dialog = dialog.at(MENU, questions=questions)
    if not questions:
        return _ask_kind(dialog.at(KIND, q={}), lead="Đã xóa câu hỏi. Bản soạn chưa còn câu nào.")
    return _review(dialog, lead="Đã xóa câu hỏi cuối.")


async def retitle(request: Request) -> Outcome:
    """"Đổi tiêu đề"."""
    dialog = await _form(request, MENU)
    return _ask(dialog.at(TITLE), _title_prompt())


async def settle(request: Request) -> Outcome:
    """"Tiếp tục": the draft becomes a Spec and goes to the settings (unit picker first)."""
    dialog = await _form(request, MENU)
    try:
        spec = Spec(title=dialog.data.get("title", ""), questions=[
            Question.model_validate(q) for q in dialog.data.get("questions", [])])
    except ValidationError:
        return _review(dialog, lead="Bản soạn chưa đủ: cần tiêu đề và ít nhất một câu hỏi.")
    return await start_settings(request, spec)


# ---------------------------------------------------------------------- helpers
def _set_max(request: Request, dialog: Dialog, raw: str) -> Outcome:
    pending = dict(dialog.data.get("q", {}))
    count = len(pending.get("options", []))
    if not raw.isdigit() or not 1 <= int(raw) <= count:
        return _again(request, f"Số phương án được chọn tối đa phải từ 1 đến {count} (câu này có "
                      f"{count} phương án). Xin đồng chí chọn lại.", buttons=_max_buttons(count))
    return _add(dialog, {**pending, "max_choices": int(raw)})


def _add(dialog: Dialog, pending: dict[str, Any]) -> Outcome:
    """Validate the finished question and append it; then "add another or finish"."""
    try:
        question = Question.model_validate(pending)
    except ValidationError:
        # The steps above check every limit; this guards a draft edited by hand in Redis.
        return _ask_kind(dialog.at(KIND, q={}), lead="Câu hỏi vừa soạn không hợp lệ, xin soạn "
                         "lại câu này.")
    questions = [*dialog.data.get("questions", []), question.model_dump(mode="json")]
    dialog = dialog.at(MENU, questions=questions, q={})
    count = len(questions)
    text = (f"✓ Đã thêm câu {count}/{MAX_QUESTIONS}: {esc(question.text)} "
            f"<i>({question.kind.label})</i>\n{_detail(question)}".rstrip())
    buttons = ([ADD] if count < MAX_QUESTIONS else []) + [
        REVIEW, Button("Xóa câu vừa thêm", act("svf.del")), CANCEL]
    return Outcome([Reply(text, buttons=rows(*buttons))], dialog=dialog)


def _review(dialog: Dialog, *, lead: str = "") -> Outcome:
    questions = [Question.model_validate(q) for q in dialog.data.get("questions", [])]
    body = "\n".join(f"{i + 1}. {esc(q.text)} <i>({q.kind.label})</i>\n{_detail(q)}".rstrip()
                     for i, q in enumerate(questions))
    text = (f"{lead}\n" if lead else "") + (
        f"<b>Xem lại bản soạn</b>\n<b>{esc(str(dialog.data.get('title', '')))}</b>\n"
        f"{body or '(chưa có câu hỏi)'}\n\nTiếp theo: chọn đơn vị, ẩn danh hay ghi tên, thời "
        "gian mở và đóng.")
    buttons = [Button("✓ Tiếp tục: chọn đơn vị và cài đặt", act("svf.go"))] if questions else []
    if len(questions) < MAX_QUESTIONS:
        buttons.append(ADD)
    if questions:
        buttons.append(Button("Xóa câu cuối", act("svf.del")))
    buttons += [Button("Đổi tiêu đề", act("svf.tt")), CANCEL]
    return Outcome([Reply(text, buttons=rows(*buttons))], dialog=dialog.at(MENU))


def _detail(question: Question) -> str:
    lines = [f"   {chr(97 + i)}) {esc(o)}" for i, o in enumerate(question.options)]
    if question.kind is Kind.MULTI:
        lines.append(f"   (chọn tối đa {question.limit()})")
    return "\n".join(lines)


def _ask_kind(dialog: Dialog, *, lead: str = "") -> Outcome:
    number = len(dialog.data.get("questions", [])) + 1
    text = (f"{lead}\n" if lead else "") + f"<b>Câu {number}</b>: chọn loại câu hỏi."
    text += "".join(f"\n• {k.label}: {KIND_HELP[k]}" for k in Kind)
    buttons = [Button(k.label, act("svf.k", k.value)) for k in Kind]
    if dialog.data.get("questions"):
        buttons.append(REVIEW)
    return Outcome([Reply(text, buttons=rows(*buttons, CANCEL))], dialog=dialog.at(KIND))


def _ask_max(dialog: Dialog) -> Outcome:
    count = len(dialog.data.get("q", {}).get("options", []))
    return Outcome([Reply("Mỗi người được chọn <b>tối đa bao nhiêu</b> phương án?",
                          buttons=_max_buttons(count))], dialog=dialog)


def _max_buttons(count: int) -> tuple[tuple[Button, ...], ...]:
    # Labels are the numbers themselves: typed "3" on a channel without buttons picks "3".
    return (*rows(*(Button(str(n), act("svf.m", str(n))) for n in range(1, count + 1)),
                  width=4), (CANCEL,))


def _ask(dialog: Dialog, text: str) -> Outcome:
    return Outcome([Reply(text, buttons=rows(CANCEL))], dialog=dialog)


def _again(request: Request, text: str,
           buttons: tuple[tuple[Button, ...], ...] | None = None) -> Outcome:
    """A refused value: say why, keep the draft exactly as it was."""
    return Outcome([Reply(text, buttons=buttons or rows(CANCEL))], dialog=request.dialog)


def _title_prompt() -> str:
    low, high = TITLE_LEN
    return (f"Nhập <b>tiêu đề</b> khảo sát ({low}–{high} ký tự), ví dụ: «Ý kiến về việc tổ "
            "chức sinh hoạt chi bộ quý IV».")


def _text_prompt(dialog: Dialog) -> str:
    low, high = QUESTION_LEN
    number = len(dialog.data.get("questions", [])) + 1
    return f"Nhập <b>nội dung câu {number}</b> ({low}–{high} ký tự)."


def _options_prompt() -> str:
    return (f"Nhập các <b>phương án</b>, mỗi dòng một phương án (từ 2 đến {MAX_OPTIONS} phương "
            f"án, mỗi phương án {OPTION_LEN[0]}–{OPTION_LEN[1]} ký tự, không trùng nhau).")


def _length(label: str, value: str, limits: tuple[int, int]) -> str:
    low, high = limits
    if not value:
        return f"{label} chưa có nội dung."
    if not low <= len(value) <= high:
        return (f"{label} cần từ {low} đến {high} ký tự; nội dung vừa gửi có {len(value)} ký tự. "
                "Xin đồng chí nhập lại.")
    return ""


def _options_problem(options: list[str]) -> str:
    if len(options) < 2:
        return "Câu hỏi lựa chọn cần ít nhất 2 phương án, mỗi phương án một dòng."
    if len(options) > MAX_OPTIONS:
        return (f"Đồng chí đã nhập {len(options)} phương án; tối đa {MAX_OPTIONS} phương án. "
                "Xin đồng chí rút gọn rồi nhập lại.")
    long = [i + 1 for i, o in enumerate(options) if len(o) > OPTION_LEN[1]]
    if long:
        return (f"Phương án thứ {', '.join(map(str, long))} dài quá {OPTION_LEN[1]} ký tự. Xin "
                "đồng chí nhập lại.")
    if len({o.casefold() for o in options}) != len(options):
        return "Có phương án bị trùng nhau. Xin đồng chí nhập lại."
    return ""


async def _scope(request: Request) -> None:
    if not access.top_scopes(request.me, Role.CADRE, await request.tree()):
        raise access.Forbidden(REFUSAL)


async def _form(request: Request, step: str | None = None) -> Dialog:
    """The open form (at `step` when a button belongs to one step), after the scope check."""
    await _scope(request)
    dialog = request.dialog
    if dialog is None or dialog.flow != FLOW or not isinstance(dialog.data.get("questions"),
                                                                list):
        raise access.Forbidden(STALE)
    if step is not None and dialog.step != step:
        raise access.Forbidden("Nút này thuộc một bước đã qua của bản soạn. Xin đồng chí dùng "
                               "các nút mới nhất.")
    return dialog


def _load(request: Request) -> list[Any]:
    try:
        return load_templates(request.deps.settings.content_path() / "surveys")
    except TemplateError:
        return []  # `dvbot content check` names the broken file; the blank form still works


def register(router: Router) -> None:
    """Register the form's buttons and steps."""
    router.action("svf", begin)
    router.action("svf.tl", templates)
    router.action("svf.tpl", from_template)
    router.action("svf.k", pick_kind)
    router.action("svf.m", pick_max)
    router.action("svf.add", add)
    router.action("svf.rv", review)
    router.action("svf.del", drop_last)
    router.action("svf.tt", retitle)
    router.action("svf.go", settle)
    for step in (TITLE, KIND, TEXT, OPTIONS, MAX, MENU):
        router.step(step, typed, text=step in (TITLE, TEXT, OPTIONS), lines=step == OPTIONS)
