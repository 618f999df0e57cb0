"""Cadres who receive tâm tư work through the queue of their units, oldest first: answer (the
sender is notified through the outbox), forward to the level above, mark resolved, tag, or
lock an abusive thread. Role and unit scope are re-checked on every press (payloads can be
forged); no screen here shows or looks up who sent an anonymous thread."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, nfc, short
from bot.org import access
from bot.org.models import Role
from bot.tamtu.models import TAG_LIMIT, TEXT_LIMITS, Thread
from bot.tamtu.service import Refused
from handlers.account.cancel import CANCEL
from handlers.account.menu import BACK
from handlers.tamtu.ui import (
    QUEUE,
    cadre_view,
    code_arg,
    handled,
    is_listener,
    listener_units,
    number,
    photos,
    refused,
    today,
    unit_name,
    vn_day,
)

SHOWN = 20
REPORT = Button("Báo cáo tháng", act("tt.rp"))


async def overview(request: Request) -> Outcome:
    """The oldest waiting threads over the cadre's units."""
    tree = await request.tree()
    service = request.deps.tamtu
    threads, total = await service.queue(listener_units(request.me, tree), SHOWN)
    now = today(request)
    lines = ["<b>Tâm tư, kiến nghị cần trả lời</b>"]
    if not threads:
        lines.append("Không có tâm tư nào đang chờ trả lời trong phạm vi của đồng chí.")
    else:
        overdue = sum(1 for t in threads if t.overdue(now))
        lines.append(f"Đang chờ: <b>{number(total)}</b>, cũ nhất trước."
                     + (f" Quá hạn trong danh sách: <b>{overdue}</b>." if overdue else ""))
    buttons = [Button(short(f"{'⚠ ' if t.overdue(now) else ''}{t.code} · "
                            f"{service.topic_name(t.topic)} · {unit_name(tree, t.attributed)} · "
                            f"{vn_day(t.day)}"), act("tt.c", t.code)) for t in threads]
    edit = request.incoming.action is not None
    return Outcome([Reply("\n".join(lines), buttons=rows(*buttons, REPORT, BACK), edit=edit)])


async def show(request: Request) -> Outcome:
    """One thread as a cadre sees it, with what they can do."""
    thread = await handled(request, code_arg(request))
    return Outcome(await _card(request, thread))


async def _card(request: Request, thread: Thread, lead: str = "") -> list[Reply]:
    tree = await request.tree()
    text = cadre_view(thread, request.deps.tamtu, tree, today(request))
    c = thread.code
    buttons = [Button("Trả lời", act("tt.r", c)), Button("Đã giải quyết", act("tt.s", c)),
               Button("Gắn nhãn", act("tt.t", c))]
    parent = tree.units[thread.unit].parent if thread.unit in tree.units else None
    if parent is not None:
        buttons.insert(1, Button("Chuyển lên cấp trên", act("tt.f", c)))
    if thread.anonymous:
        buttons.append(Button("Khóa (nội dung vi phạm)", act("tt.b", c)))
    return [*photos(thread, request),
            Reply(f"{lead}\n\n{text}".strip(), buttons=rows(*buttons, QUEUE, BACK))]


async def ask_reply(request: Request) -> Outcome:
    """Ask for the answer the sender will read."""
    thread = await handled(request, code_arg(request))
    low, high = TEXT_LIMITS
    text = (f"Xin đồng chí nhập trả lời cho {thread.code} ({low}–{high} ký tự). Người gửi nhận "
            "được nguyên văn, kèm họ tên và đơn vị của đồng chí.")
    return Outcome([Reply(text, buttons=rows(CANCEL))],
                   dialog=Dialog(flow="tt.cadre", step="tt.reply", data={"code": thread.code}))


async def replied(request: Request) -> Outcome:
    """Store the answer and notify the sender."""
    thread = await handled(request, _dialog_code(request))
    value = nfc(request.text).strip()
    low, high = TEXT_LIMITS
    if not low <= len(value) <= high:
        return Outcome([Reply(f"Trả lời cần từ {low} đến {high} ký tự (vừa nhập {len(value)}).",
                              buttons=rows(CANCEL))], dialog=request.dialog)
    tree = await request.tree()
    who = f"{request.me.name}, {unit_name(tree, thread.unit)}"
    try:
        done = await request.deps.tamtu.reply(request.me, who, thread, value, today(request))
    except Refused as exc:
        return Outcome([Reply(str(exc), buttons=rows(QUEUE))])
    await request.deps.audit.record(request.me.id, "tamtu_reply", code=done.code)
    return Outcome(await _card(request, done, "Đã gửi trả lời; người gửi đang được thông báo."))


async def forward(request: Request) -> Outcome:
    """Forward to the level above."""
    thread = await handled(request, code_arg(request))
    tree = await request.tree()
    parent = tree.units[thread.unit].parent if thread.unit in tree.units else None
    if parent is None:
        return refused(request, Refused("Đây đã là cấp cao nhất."))
    try:
        done = await request.deps.tamtu.forward(thread, parent, unit_name(tree, parent),
                                                today(request))
    except Refused as exc:
        return refused(request, exc)
    await request.deps.audit.record(request.me.id, "tamtu_forward", code=done.code, unit=parent)
    return Outcome([Reply(f"Đã chuyển {done.code} lên {esc(unit_name(tree, parent))}.",
                          buttons=rows(QUEUE, BACK))])


async def resolve(request: Request) -> Outcome:
    """Mark resolved (the sender is told and may still rate it)."""
    thread = await handled(request, code_arg(request))
    try:
        done = await request.deps.tamtu.resolve(thread, request.me.name, today(request))
    except Refused as exc:
        return refused(request, exc)
    await request.deps.audit.record(request.me.id, "tamtu_resolve", code=done.code)
    return Outcome(await _card(request, done, "Đã đánh dấu đã giải quyết."))


async def ask_tag(request: Request) -> Outcome:
    """Ask for a short label."""
    thread = await handled(request, code_arg(request))
    return Outcome([Reply(f"Nhập nhãn cho {thread.code} (tối đa {TAG_LIMIT} ký tự), ví dụ "
                          "«chế độ nghỉ phép». Chỉ cán bộ tiếp nhận thấy nhãn.",
                          buttons=rows(CANCEL))],
                   dialog=Dialog(flow="tt.cadre", step="tt.tag", data={"code": thread.code}))


async def tagged(request: Request) -> Outcome:
    """Store the label."""
    thread = await handled(request, _dialog_code(request))
    label = nfc(request.text).strip()
    if not 2 <= len(label) <= TAG_LIMIT:
        return Outcome([Reply(f"Nhãn cần từ 2 đến {TAG_LIMIT} ký tự.", buttons=rows(CANCEL))],
                       dialog=request.dialog)
    try:
        done = await request.deps.tamtu.tag(thread, label)
    except Refused as exc:
        return refused(request, exc)
    return Outcome(await _card(request, done, f"Đã gắn nhãn «{esc(label)}»."))


async def ask_block(request: Request) -> Outcome:
    """Confirm before locking (the sender is told; nobody learns who they are)."""
    thread = await handled(request, code_arg(request))
    text = (f"Khóa tâm tư <b>{thread.code}</b>? Người gửi sẽ được báo tâm tư bị khóa do nội "
            "dung vi phạm và không bổ sung được nữa. Không ai, kể cả đồng chí, biết người gửi "
            "là ai.")
    buttons = rows(Button("Xác nhận khóa", act("tt.by", thread.code)),
                   Button("Không khóa", act("tt.c", thread.code)))
    return Outcome([Reply(text, buttons=buttons)])


async def block(request: Request) -> Outcome:
    """Lock the thread."""
    thread = await handled(request, code_arg(request))
    done = await request.deps.tamtu.block(thread, today(request))
    await request.deps.audit.record(request.me.id, "tamtu_block", code=done.code)
    return Outcome([Reply(f"Đã khóa tâm tư {done.code}; người gửi đang được thông báo.",
                          buttons=rows(QUEUE, BACK))])


def _dialog_code(request: Request) -> str:
    dialog = request.dialog
    if dialog is None or dialog.flow != "tt.cadre" or "code" not in dialog.data:
        raise access.Forbidden("Không có thao tác nào đang soạn. Đồng chí mở lại hàng chờ.")
    return str(dialog.data["code"])


def register(router: Router) -> None:
    """Register the cadre's queue and actions."""
    router.command("tamtucanbo", overview, description="Tâm tư cần trả lời (cán bộ tiếp nhận)",
                   visible=lambda m: access.has_any(m, Role.LISTENER))
    router.action("tt.q", overview)
    router.action("tt.c", show)
    router.action("tt.r", ask_reply)
    router.action("tt.f", forward)
    router.action("tt.s", resolve)
    router.action("tt.t", ask_tag)
    router.action("tt.b", ask_block)
    router.action("tt.by", block)
    router.step("tt.reply", replied)
    router.step("tt.tag", tagged)
    router.menu_item("Tâm tư cần trả lời", act("tt.q"), order=66, visible=is_listener)
