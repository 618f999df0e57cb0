"""Cadres compose an announcement and send it to a unit subtree, now or at a set time.

Content (text, optional photo/document) → unit (picker, within scope) → roles → "Đã nhận"
button → time → preview with the exact recipient count → confirm. The draft lives in the
dialog; nothing is stored or sent before the confirmation, and every step re-checks scope.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from bot.broadcasts.announcement import MAX_PARTS, TooLong
from bot.broadcasts.service import Broadcast, BroadcastFile, messages_of
from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, nfc, vn_datetime, vn_number
from bot.org import access
from bot.org.models import Role
from bot.org.tree import OrgTree
from handlers.account.cancel import CANCEL
from handlers.broadcasts.draft import (
    COMPOSE,
    draft_broadcast,
    draft_status,
    file_problem,
    roles_label,
    summary,
)
from handlers.broadcasts.reach import reach_lines
from handlers.shared.picker import Picker, arg
from handlers.shared.when import BadTime, parse_when

FLOW = "bc"
MAX_LENGTH = 16_000  # all messages of a draft together; longer belongs in a document
LIST = Button("Thông báo đã gửi", act("bc.ls"))
NEXT = Button("Tiếp tục: chọn người nhận ›", act("bc.next"))
RESTART = Button("Soạn lại từ đầu", act("bc"))
PICKER = Picker("Gửi thông báo", browse="bc.u", choose="bc.pick", keep_dialog=True)
ROLE_CHOICES = (Role.CADRE, Role.REVIEWER, Role.ADMIN)
STALE = "Bản thông báo đang soạn đã hết hạn hoặc đã gửi. Đồng chí chọn «Gửi thông báo» để soạn mới."


async def begin(request: Request) -> Outcome:
    """Entry (menu, "Soạn lại"): cadres only; an empty draft."""
    if not access.top_scopes(request.me, Role.CADRE, await request.tree()):
        raise access.Forbidden("Chức năng này dành cho đồng chí được phân công phụ trách đơn vị.")
    dialog = Dialog(flow=FLOW, step="bc.text", data={"text": "", "file": None})
    return Outcome([Reply(COMPOSE, buttons=rows(LIST, CANCEL))], dialog=dialog)


async def compose(request: Request) -> Outcome:
    """Text or a file arrived: add it to the draft."""
    draft = _draft(request)
    text, problem = str(draft.data.get("text") or ""), None
    file = draft.data.get("file")
    incoming = request.incoming
    added = nfc(request.text or incoming.text or "").strip()
    if incoming.file is not None:
        problem = file_problem(incoming.file)
        if problem is None:
            file = BroadcastFile(kind="photo" if incoming.file.kind == "photo" else "document",
                                 file_id=incoming.file.file_id,
                                 filename=incoming.file.filename).model_dump()
    if problem is None and added:
        joined = f"{text}\n\n{added}" if text else added
        if len(joined) > MAX_LENGTH:
            problem = (f"Nội dung sẽ dài {vn_number(len(joined))} ký tự, vượt mức tối đa "
                       f"{vn_number(MAX_LENGTH)}. "
                       "Phần vừa gửi chưa được thêm; nội dung dài nên gửi dạng tệp đính kèm.")
        else:
            text = joined
    draft = draft.at("bc.text", text=text, file=file)
    return Outcome([Reply(draft_status(draft, problem), buttons=rows(NEXT, RESTART, CANCEL))],
                   dialog=draft)


async def after_content(request: Request) -> Outcome:
    """"Tiếp tục": the draft must have content and fit (or be split); then pick the unit."""
    draft = _draft(request)
    if not draft.data.get("text") and not draft.data.get("file"):
        return Outcome([Reply("Thông báo chưa có nội dung. Xin đồng chí gửi nội dung (chữ, ảnh "
                              "hoặc tệp) trước khi chọn người nhận.",
                              buttons=rows(RESTART, CANCEL))], dialog=draft)
    tree = await request.tree()
    roots = access.top_scopes(request.me, Role.CADRE, tree)
    too_long = _too_long(request, draft, tree, roots[0] if roots else "")
    if too_long is not None:
        return too_long
    return await PICKER.start(_with(request, draft.at("bc.choose")),
                              "Chức năng này dành cho đồng chí được phân công phụ trách đơn vị.")


async def agree_split(request: Request) -> Outcome:
    """The cadre chose to send a long text as several messages."""
    draft = _draft(request).at("bc.choose", split=True)
    unit = draft.data.get("unit")
    if unit:  # the choice came at the preview: go back there
        return await preview(_with(request, draft))
    return await PICKER.start(_with(request, draft), "Chức năng dành cho cán bộ.")


async def pick_unit(request: Request) -> Outcome:
    """A unit was chosen: check scope, then ask which roles."""
    draft = _draft(request)
    unit_id = arg(request, 0)
    access.require(request.me, Role.CADRE, unit_id, await request.tree())
    return await _roles(_with(request, draft.at("bc.choose", unit=unit_id, roles=[])))


async def toggle_role(request: Request) -> Outcome:
    """Add or remove one role from the audience filter ("all" clears it)."""
    draft = _draft(request)
    choice = arg(request, 0)
    valid = {r.value for r in ROLE_CHOICES}
    roles = [r for r in draft.data.get("roles", []) if r in valid]
    if choice == "all":
        roles = []
    elif choice in valid:
        roles = [r for r in roles if r != choice] if choice in roles else [*roles, choice]
    else:
        raise access.Forbidden("Vai trò không hợp lệ.")
    return await _roles(_with(request, draft.at("bc.choose", roles=roles)))


async def ask_ack(request: Request) -> Outcome:
    """Offer the "Đã nhận" button."""
    draft = _unit_draft(request, await request.tree())
    text = ("<b>Nút «Đã nhận»</b>\nThêm nút để người nhận xác nhận đã đọc? Báo cáo sẽ cho biết "
            "số người đã xác nhận theo từng đơn vị, và đồng chí có thể nhắc những người chưa "
            "xác nhận.")
    buttons = [Button("Có, thêm nút «Đã nhận»", act("bc.ack", "1")),
               Button("Không cần", act("bc.ack", "0")), CANCEL]
    return _say(request, text, buttons, draft)


async def ask_time(request: Request) -> Outcome:
    """Send now, or at a time."""
    draft = _unit_draft(request, await request.tree())
    draft = draft.at("bc.choose", ack=arg(request, 0) == "1")
    buttons = [Button("Gửi ngay", act("bc.now")), Button("Hẹn giờ gửi", act("bc.at")), CANCEL]
    return _say(request, "<b>Gửi khi nào?</b>", buttons, draft)


async def send_now(request: Request) -> Outcome:
    """No schedule: preview."""
    return await preview(_with(request, _draft(request).at("bc.choose", at=None)))


async def ask_when(request: Request) -> Outcome:
    """Ask for the time, typed."""
    draft = _draft(request).at("bc.time")
    text = ("Xin đồng chí nhập thời điểm gửi (giờ Việt Nam), ví dụ <code>14:30</code> (hôm nay) "
            "hoặc <code>14:30 25/11/2026</code>.")
    return _say(request, text, [Button("Gửi ngay", act("bc.now")), CANCEL], draft)


async def typed_time(request: Request) -> Outcome:
    """Read the typed time; a past or malformed one is explained and asked again."""
    draft = _draft(request)
    try:
        moment = parse_when(request.text, request.now())
    except BadTime as exc:
        return Outcome([Reply(str(exc), buttons=rows(Button("Gửi ngay", act("bc.now")), CANCEL))],
                       dialog=draft)
    return await preview(_with(request, draft.at("bc.choose", at=moment.isoformat())))


async def preview(request: Request) -> Outcome:
    """Exactly what members will get, the exact count, and the confirm button."""
    tree = await request.tree()
    draft = _unit_draft(request, tree)
    too_long = _too_long(request, draft, tree, str(draft.data["unit"]))
    if too_long is not None:
        return too_long
    b = draft_broadcast(request.me, draft, request.now())
    if b.at < b.created_at:
        return _past(b, draft)
    recipients = await request.deps.broadcasts.audience(tree, b.unit, b.roles, request.me.id)
    reachable = sum(1 for r in recipients if r.channel)
    nonce = secrets.token_hex(4)
    draft = draft.at("bc.choose", nonce=nonce)
    if reachable == 0:
        return _say(request, "Không có đảng viên nào nhận được thông báo với đơn vị và đối tượng "
                    "đã chọn. Đồng chí chọn lại người nhận.",
                    [Button("Chọn lại người nhận", act("bc.next")), CANCEL], draft)
    messages = messages_of(b, tree)
    overview = summary(b, tree.path(b.unit), reachable, reach_lines(recipients),
                       len(messages))
    buttons = rows(Button("✓ Xác nhận gửi", act("bc.go", nonce)), RESTART, CANCEL)
    return Outcome([*messages, Reply(overview, buttons=buttons)], dialog=draft)


async def confirm(request: Request) -> Outcome:
    """Store and schedule the broadcast after checking everything once more."""
    draft = _draft(request)
    if arg(request, 0) != draft.data.get("nonce"):
        raise access.Forbidden("Bản xem trước này đã cũ. Đồng chí xem lại bản mới nhất.")
    tree = await request.tree()
    draft = _unit_draft(request, tree)
    now = request.now()
    b = draft_broadcast(request.me, draft, now)
    if b.at < now:
        return _past(b, draft)
    b = await request.deps.broadcasts.create(b)
    when = "ngay bây giờ" if b.at <= now else f"lúc {vn_datetime(b.at)}"
    text = (f"<b>Đã xác nhận thông báo #{b.id}</b>\nThông báo sẽ được gửi {when} tới các "
            f"đồng chí thuộc {esc(tree.path(b.unit))}. Đồng chí xem tiến độ bằng lệnh /thongbao.")
    buttons = rows(Button("Xem tiến độ", act("bc.v", b.id)), LIST)
    return Outcome([Reply(text, buttons=buttons)])


async def choose_hint(request: Request) -> Outcome:
    """Typed text while buttons are expected: say so and keep the draft."""
    return Outcome([Reply("Xin đồng chí chọn một trong các nút ở trên (hoặc gõ /huy để hủy).")],
                   dialog=request.dialog, replace_options=False)


# ------------------------------------------------------------------------------ helpers
def _draft(request: Request) -> Dialog:
    if request.dialog is None or request.dialog.flow != FLOW:
        raise access.Forbidden(STALE)
    return request.dialog


def _unit_draft(request: Request, tree: OrgTree) -> Dialog:
    """The draft, with its chosen unit still inside the actor's scope."""
    draft = _draft(request)
    unit = draft.data.get("unit")
    if not isinstance(unit, str):
        raise access.Forbidden(STALE)
    access.require(request.me, Role.CADRE, unit, tree)
    return draft


def _past(b: Broadcast, draft: Dialog) -> Outcome:
    """The chosen time went by while the cadre was deciding: ask again."""
    text = f"Thời điểm {vn_datetime(b.at)} đã qua. Xin đồng chí nhập thời điểm gửi mới."
    return Outcome([Reply(text, buttons=rows(Button("Gửi ngay", act("bc.now")), CANCEL))],
                   dialog=draft.at("bc.time"))


def _with(request: Request, dialog: Dialog) -> Request:
    """The same request, carrying the updated draft."""
    return replace(request, dialog=dialog)


def _say(request: Request, text: str, buttons: list[Button], draft: Dialog) -> Outcome:
    edit = request.incoming.action is not None
    return Outcome([Reply(text, buttons=rows(*buttons), edit=edit)], dialog=draft)


async def _roles(request: Request) -> Outcome:
    draft = _draft(request)
    tree = await request.tree()
    chosen = list(draft.data.get("roles", []))
    buttons = [Button(("✓ " if not chosen else "") + "Tất cả đảng viên", act("bc.role", "all"))]
    buttons += [Button(("☑ " if r.value in chosen else "☐ ") + r.label, act("bc.role", r.value))
                for r in ROLE_CHOICES]
    buttons += [Button("Tiếp tục ›", act("bc.who")), CANCEL]
    text = (f"<b>Gửi tới ai?</b>\nĐơn vị: {esc(tree.path(str(draft.data['unit'])))} "
            "(gồm cả các đơn vị trực thuộc)\n"
            f"Đang chọn: {roles_label(chosen)}.\n"
            "Mặc định gửi tới tất cả đảng viên; đồng chí có thể chỉ gửi tới một số vai trò.")
    return _say(request, text, buttons, draft)


def _too_long(request: Request, draft: Dialog, tree: OrgTree, unit_id: str) -> Outcome | None:
    """The split-or-shorten choice, when the content does not fit one message."""
    if draft.data.get("split"):
        return None
    b = draft_broadcast(request.me, draft.at(draft.step, unit=unit_id or request.me.unit),
                        request.now())
    try:
        messages_of(b, tree)
    except TooLong as exc:
        where = "phần chú thích ảnh/tệp" if b.file else "một tin nhắn"
        if exc.parts > MAX_PARTS:
            text = (f"<b>Thông báo quá dài</b>\nNội dung cần {exc.parts} tin nhắn, tối đa "
                    f"{MAX_PARTS}. Đồng chí rút gọn, hoặc gửi nội dung dài dưới dạng tệp "
                    "đính kèm.")
            return _say(request, text, [RESTART, CANCEL], draft)
        text = (f"<b>Nội dung quá dài cho {where}</b>\nThông báo dài khoảng {exc.length} ký tự, "
                f"vượt giới hạn {exc.limit} ký tự của Telegram. Đồng chí chọn chia thành "
                f"{exc.parts} tin nhắn gửi liên tiếp, hoặc soạn lại cho ngắn hơn.")
        buttons = [Button(f"Chia thành {exc.parts} tin nhắn", act("bc.split")), RESTART, CANCEL]
        return _say(request, text, buttons, draft.at("bc.choose"))
    return None


def register(router: Router) -> None:
    """Register the compose flow and its menu item (cadres only)."""
    router.action("bc", begin)
    router.step("bc.text", compose, files=True)
    router.step("bc.choose", choose_hint, text=False)
    router.step("bc.time", typed_time)
    router.action("bc.next", after_content)
    router.action("bc.split", agree_split)
    router.action("bc.u", PICKER.on_browse)
    router.action("bc.pick", pick_unit)
    router.action("bc.role", toggle_role)
    router.action("bc.who", ask_ack)
    router.action("bc.ack", ask_time)
    router.action("bc.now", send_now)
    router.action("bc.at", ask_when)
    router.action("bc.go", confirm)
    router.menu_item("Gửi thông báo", act("bc"), order=70,
                     visible=lambda m: access.has_any(m, Role.CADRE))
