"""Cadres open a survey: from a template (content/surveys/) or the guided form, then the unit
(picker over their own scope), anonymity, result visibility, duration, a preview with the exact
audience, and "Mở khảo sát". The draft lives in the dialog; nothing is stored before opening,
and the scope is checked again at every step (payloads can be forged).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from bot.delivery.address import later_line
from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, Reply
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, fold, short, vn_datetime, vn_number
from bot.library.audience import can_read
from bot.org import access
from bot.org.models import Role
from bot.surveys.lifecycle import SurveyTimes
from bot.surveys.models import Spec, Visibility
from bot.surveys.skips import for_directive, needs_directive
from bot.surveys.templates import TemplateError, load_templates
from handlers.account.cancel import CANCEL
from handlers.account.menu import BACK
from handlers.shared.picker import Picker, arg
from handlers.shared.when import EXAMPLE, BadTime, parse_when
from handlers.surveys.ui import CREATED, screen

FLOW, STEP = "svc", "svc.set"
REFUSAL = "Chức năng này dành cho đồng chí được phân công phụ trách đơn vị."
STALE = "Bản khảo sát đang soạn đã hết hạn hoặc đã mở. Đồng chí chọn «Tạo khảo sát» để soạn mới."
PICKER = Picker("Tạo khảo sát", browse="svc.u", choose="svc.pick", keep_dialog=True)
DAYS = (1, 3, 7, 14, 30)
NOW_WORDS = {"ngay", "mo ngay", "bay gio"}


async def begin(request: Request) -> Outcome:
    """Entry: templates, the guided form, and the surveys already created."""
    if not access.top_scopes(request.me, Role.CADRE, await request.tree()):
        raise access.Forbidden(REFUSAL)
    try:
        templates = load_templates(request.deps.settings.content_path() / "surveys")
    except TemplateError:
        templates = []  # `dvbot content check` names the broken file; the form still works
    buttons = [Button(f"Mẫu: {short(t.spec.title, 50)}", act("svc.tpl", t.id)) for t in templates]
    buttons += [Button("Soạn khảo sát mới (từng bước)", act("svf")),
                Button("Sửa một mẫu rồi mở", act("svf.tl")), CREATED, BACK]
    text = ("<b>Tạo khảo sát</b>\nChọn một mẫu để mở ngay, hoặc tự soạn từng bước, hoặc sửa "
            "một mẫu (câu hỏi chọn một, chọn nhiều, thang điểm 1–5, trả lời ngắn, tối đa 10 "
            "câu).")
    return screen(request, text, buttons)


async def from_template(request: Request) -> Outcome:
    """A template was chosen: its spec becomes the draft; then pick the unit."""
    if not access.top_scopes(request.me, Role.CADRE, await request.tree()):
        raise access.Forbidden(REFUSAL)
    wanted = arg(request, 0)
    try:
        found = [t for t in load_templates(request.deps.settings.content_path() / "surveys")
                 if t.id == wanted]
    except TemplateError:
        found = []
    if not found:
        raise access.Forbidden("Không tìm thấy mẫu khảo sát này.")
    if needs_directive(found[0].spec):
        return await pick_directive(request, found[0].id)
    return await start_settings(request, found[0].spec)


async def pick_directive(request: Request, template_id: str) -> Outcome:
    """A template about a directive: which one (directives in force the cadre may read)."""
    library, tree = await request.deps.library.snapshot(), await request.tree()
    found = [e for e in library.directives() if can_read(request.me, e.audience, tree)][:10]
    buttons = [Button(short(f"{e.so_hieu} · {e.title}"), act("svc.dir", template_id, e.id))
               for e in found]
    return screen(request, "Mẫu này lấy ý kiến về một văn bản: đồng chí chọn văn bản trước.",
                  [*buttons, BACK])


async def with_directive(request: Request) -> Outcome:
    """The directive chosen: it fills {văn bản} in the template, then the unit picker."""
    if not access.top_scopes(request.me, Role.CADRE, await request.tree()):
        raise access.Forbidden(REFUSAL)
    wanted, doc_id = arg(request, 0), arg(request, 1)
    library, tree = await request.deps.library.snapshot(), await request.tree()
    entry = library.entries.get(doc_id)
    if entry is None or entry.type != "directive" or not can_read(request.me, entry.audience,
                                                                   tree):
        raise access.Forbidden("Không tìm thấy văn bản này.")
    try:
        found = [t for t in load_templates(request.deps.settings.content_path() / "surveys")
                 if t.id == wanted]
    except TemplateError:
        found = []
    if not found:
        raise access.Forbidden("Không tìm thấy mẫu khảo sát này.")
    return await start_settings(request, for_directive(found[0].spec, entry.label))


async def start_settings(request: Request, spec: Spec) -> Outcome:
    """Put a finished spec into the dialog and go to the unit picker (also used by the form)."""
    dialog = Dialog(flow=FLOW, step=STEP, data={"spec": spec.model_dump(mode="json")})
    return await PICKER.start(_with(request, dialog), REFUSAL)


async def pick_unit(request: Request) -> Outcome:
    """A unit was chosen: check scope, then the settings screen."""
    spec, dialog = _draft(request)
    unit_id = arg(request, 0)
    access.require(request.me, Role.CADRE, unit_id, await request.tree())
    return await _settings(_with(request, dialog.at(STEP, unit=unit_id)), spec)


async def toggle(request: Request) -> Outcome:
    """Change one setting: anonymity, visibility, changes allowed, duration."""
    spec, dialog = _draft(request)
    what = arg(request, 0)
    dialog = dialog.at(STEP, waiting=None)  # a time asked for earlier is no longer awaited
    data: dict[str, Any] = spec.model_dump(mode="json")
    if what == "anon":
        data["anonymous"], data["allow_change"] = not spec.anonymous, False
    elif what == "vis":
        data["visibility"] = (Visibility.AFTER_CLOSE if spec.visibility is Visibility.WHILE_OPEN
                              else Visibility.WHILE_OPEN).value
    elif what == "chg" and spec.anonymous:
        return await _settings(_with(request, dialog), spec, problem=(
            "Khảo sát ẩn danh không cho sửa câu trả lời (không được lưu ai đã trả lời gì). "
            "Muốn cho sửa, đồng chí đổi «Ẩn danh» thành «Không» trước."))
    elif what == "chg":
        data["allow_change"] = not spec.allow_change
    elif what == "days":
        data["days"] = next((d for d in DAYS if d > spec.days), DAYS[0])
        dialog = dialog.at(STEP, closes=None)
    elif what in ("opens", "closes"):
        return _ask_time(dialog.at(STEP, waiting=what), what)
    elif what == "now":
        dialog = dialog.at(STEP, opens=None)
    elif what == "back":
        pass
    else:
        raise access.Forbidden("Lựa chọn không hợp lệ.")
    changed = Spec.model_validate(data)
    return await _settings(_with(request, dialog.at(STEP, spec=data)), changed)


async def open_survey(request: Request) -> Outcome:
    """"Mở khảo sát": store it with the audience snapshot and notify the audience."""
    spec, dialog = _draft(request)
    unit_id = str(dialog.data.get("unit") or "")
    tree = await request.tree()
    access.require(request.me, Role.CADRE, unit_id, tree)
    if needs_directive(spec):
        raise access.Forbidden("Mẫu khảo sát này cần chọn văn bản trước khi mở.")
    deps, now = request.deps, request.now()
    opens, closes = _times(dialog, spec, now)
    if closes <= (opens or now):
        return await _settings(request, spec, problem="Giờ đóng phải sau giờ mở. Xin đồng chí "
                               "đổi giờ mở hoặc giờ đóng.")
    survey, notified = await SurveyTimes(deps).open(
        spec, unit=unit_id, author=request.me, tree=tree, now=now, closes=closes, opens=opens)
    if survey.pending:
        lines = [f"✓ Đã hẹn mở khảo sát <b>{esc(survey.title)}</b> ({esc(tree.path(unit_id))}) "
                 f"lúc {vn_datetime(survey.opens_at)}, hạn {vn_datetime(survey.closes_at)}.",
                 "Danh sách người trả lời được chốt và thông báo được gửi khi mở."]
    else:
        lines = [f"✓ Đã mở khảo sát <b>{esc(survey.title)}</b> cho "
                 f"{vn_number(survey.audience)} đồng chí "
                 f"({esc(tree.path(unit_id))}), hạn {vn_datetime(survey.closes_at)}.",
                 f"Đang gửi thông báo tới {vn_number(len(notified.reached))} đồng chí."]
        if notified.without_account:
            lines.append(f"({notified.without_account} đồng chí chưa có tài khoản nhận tin.)")
        if notified.kept:
            lines.append(later_line(len(notified.kept)))
    buttons = [Button("Xem kết quả", act("sv.r", survey.id)), CREATED, BACK]
    return Outcome([Reply("\n".join(lines), buttons=tuple((b,) for b in buttons),
                          edit=True)], dialog=None)


async def typed(request: Request) -> Outcome:
    """Text while the settings are on screen: a time when one was asked for, else point to
    the buttons; the draft is kept either way."""
    spec, dialog = _draft(request)
    waiting = dialog.data.get("waiting")
    if waiting not in ("opens", "closes"):
        return Outcome([Reply("Xin đồng chí chọn bằng các nút (hoặc gõ số thứ tự) ở trên.")],
                       dialog=request.dialog, replace_options=False)
    if waiting == "opens" and fold(request.text).strip() in NOW_WORDS:
        return await _settings(_with(request, dialog.at(STEP, waiting=None, opens=None)), spec)
    try:
        moment = parse_when(request.text, request.now())
    except BadTime as exc:
        return _ask_time(dialog, str(waiting), problem=str(exc))
    moved = dialog.at(STEP, waiting=None, **{str(waiting): moment.isoformat()})
    return await _settings(_with(request, moved), spec)


def _ask_time(dialog: Dialog, what: str, problem: str = "") -> Outcome:
    if what == "opens":
        ask = (f"Nhập <b>giờ mở</b> khảo sát, ví dụ {EXAMPLE}, hoặc gõ «ngay» để mở ngay khi "
               "bấm «Mở khảo sát».")
    else:
        ask = f"Nhập <b>giờ đóng</b> khảo sát, ví dụ {EXAMPLE}."
    text = f"{problem}\n{ask}" if problem else ask
    back = Button("« Quay lại cài đặt", act("svc.t", "back"))
    return Outcome([Reply(text, buttons=((back,), (CANCEL,)))], dialog=dialog)


def _times(dialog: Dialog, spec: Spec, now: datetime) -> tuple[datetime | None, datetime]:
    """(scheduled opening or None for "now", closing) from the draft."""
    opens = _moment(dialog.data.get("opens"))
    if opens is not None and opens <= now:
        opens = None  # the scheduled time has passed while the cadre looked: open now
    closes = _moment(dialog.data.get("closes")) or (opens or now) + timedelta(days=spec.days)
    return opens, closes


def _moment(raw: object) -> datetime | None:
    try:
        return datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


async def _settings(request: Request, spec: Spec, problem: str = "") -> Outcome:
    """The settings screen with the preview: audience size, policy, opening and closing."""
    dialog = request.dialog
    assert dialog is not None
    unit_id = str(dialog.data.get("unit"))
    tree = await request.tree()
    audience = len(await request.deps.surveys.audience_ids(tree, unit_id,
                                                           without=request.me.id))
    opens, closes = _times(dialog, spec, request.now())
    explicit = dialog.data.get("closes") is not None
    questions = "\n".join(f"{i + 1}. {esc(q.text)} <i>({q.kind.label})</i>"
                          for i, q in enumerate(spec.questions))
    text = (f"<b>Xem trước khảo sát</b>\n<b>{esc(spec.title)}</b>\n{questions}\n\n"
            f"Đơn vị: {esc(tree.path(unit_id))} — <b>{vn_number(audience)}</b> đồng chí "
            "(danh sách chốt khi mở)"
            f"\nMở: {vn_datetime(opens) if opens else 'ngay khi bấm «Mở khảo sát»'}"
            f"\nHạn trả lời: {vn_datetime(closes)}"
            + ("" if explicit else f" ({spec.days} ngày)"))
    if problem:
        text = f"{problem}\n\n{text}"
    k = request.deps.surveys.min_group
    if spec.anonymous:
        text += (f"\nẨn danh: kết quả chỉ hiển thị theo nhóm từ {k} người trở lên, và chỉ xem "
                 "được sau khi khảo sát đóng.")
        if audience < k:
            text += (f"\n⚠ Đơn vị này chỉ có {audience} đồng chí, ít hơn {k}: kết quả của khảo "
                     "sát ẩn danh này sẽ không bao giờ hiển thị được. Đồng chí nên chọn đơn vị "
                     "lớn hơn, hoặc đổi sang khảo sát có ghi tên.")
    # Anonymous results open only at closing (see Survey.results_visible), so their row says so.
    vis = ("chỉ xem sau khi đóng (khảo sát ẩn danh)" if spec.anonymous
           else "xem được khi đang mở (đổi)" if spec.visibility is Visibility.WHILE_OPEN
           else "chỉ xem sau khi đóng (đổi)")
    buttons = [Button(f"Ẩn danh: {'Có' if spec.anonymous else 'Không'} (đổi)",
                      act("svc.t", "anon")),
               Button(f"Kết quả: {vis}", act("svc.t", "vis"))]
    # Every row is always there, so no option number moves when a setting changes.
    change = ("Không (khảo sát ẩn danh)" if spec.anonymous
              else "Có (đổi)" if spec.allow_change else "Không (đổi)")
    buttons += [Button(f"Cho sửa câu trả lời: {change}", act("svc.t", "chg")),
                Button("Mở: " + (vn_datetime(opens) if opens else "ngay") + " (đổi giờ mở)",
                       act("svc.t", "opens")),
                Button("Mở ngay khi bấm" + (" ✓" if not opens else ""), act("svc.t", "now"))]
    days = (f"Thời hạn: đến {vn_datetime(closes)} (đổi thành số ngày)" if explicit
            else f"Thời hạn: {spec.days} ngày (đổi)")
    buttons += [Button(days, act("svc.t", "days")),
                Button("Nhập giờ đóng", act("svc.t", "closes")),
                Button("✓ Mở khảo sát", act("svc.open")), CANCEL]
    return screen(request, text, buttons, keep=True)


def _draft(request: Request) -> tuple[Spec, Dialog]:
    dialog = request.dialog
    if dialog is None or dialog.flow != FLOW or "spec" not in dialog.data:
        raise access.Forbidden(STALE)
    try:
        return Spec.model_validate(dialog.data["spec"]), dialog
    except ValidationError as exc:
        raise access.Forbidden(STALE) from exc


def _with(request: Request, dialog: Dialog) -> Request:
    return Request(request.incoming, request.deps, request.router, request.member, dialog,
                   text=request.text, args=request.args)


def register(router: Router) -> None:
    """Register the entry, templates, picker, settings and opening."""
    router.action("svc", begin)
    router.action("svc.tpl", from_template)
    router.action("svc.dir", with_directive)
    router.action("svc.u", PICKER.on_browse)
    router.action("svc.pick", pick_unit)
    router.action("svc.t", toggle)
    router.action("svc.open", open_survey)
    router.step(STEP, typed, text=lambda d: d.data.get("waiting") in ("opens", "closes"))
    router.menu_item("Tạo khảo sát", act("svc"), order=65,
                     visible=lambda m: access.has_any(m, Role.CADRE))
