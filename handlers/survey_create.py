"""Cadres open a survey: from a template (content/surveys/) or the guided form, then the unit
(picker over their own scope), anonymity, result visibility, duration, a preview with the exact
audience, and "Mở khảo sát". The draft lives in the dialog; nothing is stored before opening,
and the scope is checked again at every step (payloads can be forged).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from bot.actions import act
from bot.conversation import Dialog
from bot.messages import Button, Reply
from bot.models import Role
from bot.router import Outcome, Request, Router
from bot.services import access
from bot.surveys.models import Spec, Visibility
from bot.surveys.notices import opening_message, recipients
from bot.surveys.templates import TemplateError, load_templates
from bot.text import esc, vn_datetime
from handlers.cancel import CANCEL
from handlers.menu import BACK
from handlers.picker import Picker, arg
from handlers.survey_ui import CREATED, screen

FLOW, STEP = "svc", "svc.set"
REFUSAL = "Chức năng tạo khảo sát dành cho cán bộ có phạm vi quản lý."
STALE = "Bản khảo sát đang soạn đã hết hạn hoặc đã mở. Đồng chí chọn «Tạo khảo sát» để soạn mới."
PICKER = Picker("Tạo khảo sát", browse="svc.u", choose="svc.pick", keep_dialog=True)
DAYS = (1, 3, 7, 14, 30)


async def begin(request: Request) -> Outcome:
    """Entry: templates, the guided form, and the surveys already created."""
    if not access.top_scopes(request.me, Role.CADRE, await request.tree()):
        raise access.Forbidden(REFUSAL)
    try:
        templates = load_templates(request.deps.settings.content_path() / "surveys")
    except TemplateError:
        templates = []  # `dvbot content check` names the broken file; the form still works
    buttons = [Button(f"Mẫu: {t.spec.title[:50]}", act("svc.tpl", t.id)) for t in templates]
    buttons += [CREATED, BACK]
    text = ("<b>Tạo khảo sát</b>\nChọn một mẫu khảo sát (mẫu trong content/surveys/; câu hỏi "
            "chọn một, chọn nhiều, thang điểm 1–5, trả lời ngắn, tối đa 10 câu).")
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
    return await start_settings(request, found[0].spec)


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
    data: dict[str, Any] = spec.model_dump(mode="json")
    if what == "anon":
        data["anonymous"], data["allow_change"] = not spec.anonymous, False
    elif what == "vis":
        data["visibility"] = (Visibility.AFTER_CLOSE if spec.visibility is Visibility.WHILE_OPEN
                              else Visibility.WHILE_OPEN).value
    elif what == "chg" and not spec.anonymous:
        data["allow_change"] = not spec.allow_change
    elif what == "days":
        data["days"] = next((d for d in DAYS if d > spec.days), DAYS[0])
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
    deps, now = request.deps, request.now()
    survey = await deps.surveys.open(spec, unit=unit_id, author_name=request.me.name,
                                     tree=tree, now=now,
                                     closes_at=now + timedelta(days=spec.days))
    ids = await deps.surveys.audience_ids(tree, unit_id)
    targets, skipped = await recipients(deps.members, tree, survey, ids)
    await deps.outbox.enqueue(f"sv-{survey.id}", targets,
                              [opening_message(survey, tree.units[unit_id].name)],
                              paid=deps.settings.telegram_paid_rate > 0)
    await deps.audit.record(request.me.id, "survey_open", id=survey.id, unit=unit_id,
                            anonymous=str(survey.anonymous))
    lines = [f"✓ Đã mở khảo sát <b>{esc(survey.title)}</b> cho {survey.audience} đồng chí "
             f"({esc(tree.path(unit_id))}), hạn {vn_datetime(survey.closes_at)}.",
             f"Đang gửi thông báo tới {len(targets)} đồng chí."]
    if skipped:
        lines.append(f"({skipped} đồng chí chưa có tài khoản nhận tin.)")
    buttons = [Button("Xem kết quả", act("sv.r", survey.id)), CREATED, BACK]
    return Outcome([Reply("\n".join(lines), buttons=tuple((b,) for b in buttons),
                          edit=True)], dialog=None)


async def typed(request: Request) -> Outcome:
    """Text while the settings are on screen: point to the buttons, keep the draft."""
    _draft(request)
    return Outcome([Reply("Xin đồng chí chọn bằng các nút (hoặc gõ số thứ tự) ở trên.")],
                   dialog=request.dialog, replace_options=False)


async def _settings(request: Request, spec: Spec) -> Outcome:
    """The settings screen with the preview: audience size, policy, closing time."""
    dialog = request.dialog
    assert dialog is not None
    unit_id = str(dialog.data.get("unit"))
    tree = await request.tree()
    audience = len(await request.deps.surveys.audience_ids(tree, unit_id))
    closes = request.now() + timedelta(days=spec.days)
    questions = "\n".join(f"{i + 1}. {esc(q.text)} <i>({q.kind.label})</i>"
                          for i, q in enumerate(spec.questions))
    text = (f"<b>Xem trước khảo sát</b>\n<b>{esc(spec.title)}</b>\n{questions}\n\n"
            f"Đơn vị: {esc(tree.path(unit_id))} — <b>{audience}</b> đồng chí (danh sách chốt "
            f"khi mở)\nHạn trả lời: {vn_datetime(closes)} ({spec.days} ngày)")
    if spec.anonymous:
        text += (f"\nẨn danh: kết quả chỉ hiển thị theo nhóm từ "
                 f"{request.deps.surveys.min_group} người trở lên.")
    vis = ("xem được khi đang mở" if spec.visibility is Visibility.WHILE_OPEN
           else "chỉ xem sau khi đóng")
    buttons = [Button(f"Ẩn danh: {'Có' if spec.anonymous else 'Không'} (đổi)",
                      act("svc.t", "anon")),
               Button(f"Kết quả: {vis} (đổi)", act("svc.t", "vis"))]
    if not spec.anonymous:
        buttons.append(Button(f"Cho sửa câu trả lời: {'Có' if spec.allow_change else 'Không'} "
                              "(đổi)", act("svc.t", "chg")))
    buttons += [Button(f"Thời hạn: {spec.days} ngày (đổi)", act("svc.t", "days")),
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
    router.action("svc.u", PICKER.on_browse)
    router.action("svc.pick", pick_unit)
    router.action("svc.t", toggle)
    router.action("svc.open", open_survey)
    router.step(STEP, typed)
    router.menu_item("Tạo khảo sát", act("svc"), order=65,
                     visible=lambda m: access.has_any(m, Role.CADRE))
