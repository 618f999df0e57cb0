""""Đề xuất của tôi": the member's proposals with their state and the official answers;
withdraw one before a decision; edit and resend one that was returned."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, short, vn_datetime
from bot.org import access
from bot.proposals.models import OPEN, Draft, Proposal, State
from bot.proposals.render import card, photos
from bot.proposals.service import Refused
from handlers.account.menu import BACK
from handlers.proposals.form import review
from handlers.proposals.ui import arg, number, refused

LIST = Button("« Đề xuất của tôi", act("my"))
PAGE = 20  # proposals per page of the list (a Telegram keyboard stays readable)
NOT_YOURS = "Không tìm thấy đề xuất này trong các đề xuất của đồng chí."


async def mine(request: Request) -> Outcome:
    """The member's proposals, newest first, PAGE at a time (Trước/Sau to page on)."""
    store = request.deps.proposals.store
    total = await store.count_mine(request.me.id)
    pages = max(1, -(-total // PAGE))
    raw = request.args[0] if request.args else "0"
    page = min(int(raw), pages - 1) if raw.isdigit() and len(raw) < 6 else 0
    found = await store.mine(request.me.id, limit=PAGE, offset=page * PAGE)
    if not found:
        text = ("<b>Đề xuất của tôi</b>\nĐồng chí chưa gửi đề xuất nào. Chọn «Đề xuất mô hình "
                "Dân vận khéo» để gửi mô hình đầu tiên.")
        return Outcome([Reply(text, buttons=rows(Button("Đề xuất mô hình Dân vận khéo",
                                                        act("dvk")), BACK))])
    buttons = [Button(f"{p.code} — {short(p.name, 40)} ({p.state.label})", act("my.v", p.code))
               for p in found]
    if page > 0:
        buttons.append(Button("« Trước", act("my", str(page - 1))))
    if page + 1 < pages:
        buttons.append(Button("Sau »", act("my", str(page + 1))))
    text = "<b>Đề xuất của tôi</b>\nChọn một đề xuất để xem trạng thái và ý kiến trả lời:"
    if pages > 1:
        text += f"\n(Trang {page + 1}/{pages}, tổng cộng {total} đề xuất)"
    edit = request.incoming.action is not None
    return Outcome([Reply(text, buttons=rows(*buttons, BACK), edit=edit)])


async def view(request: Request) -> Outcome:
    """One proposal: state, content, answers (not the reviewers' private notes)."""
    p = await _own(request, arg(request, 0))
    tree = await request.tree()
    events = await request.deps.proposals.store.history(p.code)
    answers = [f"• {vn_datetime(e.at)}: <b>{e.target.label}</b>"
               + (f" — {esc(e.answer)}" if e.answer else "") for e in events]
    text = card(p, tree) + "\n\n<b>Quá trình xử lý</b>\n" + "\n".join(answers)
    buttons: list[Button] = []
    if p.state is State.RETURNED:
        buttons.append(Button("Sửa và gửi lại", act("my.e", p.code)))
    if p.state in OPEN:
        buttons.append(Button("Rút đề xuất", act("my.w", p.code, str(p.version))))
    return Outcome([*photos(p, request.deps.library.files, p.code),
                    Reply(text, buttons=rows(*buttons, LIST, BACK))])


async def ask_withdraw(request: Request) -> Outcome:
    """Confirm before withdrawing (it cannot be undone)."""
    p = await _own(request, arg(request, 0))
    version = number(request, 1)
    text = (f"Đồng chí chắc chắn rút đề xuất <b>{p.code}</b> «{esc(p.name)}»? Đề xuất đã rút "
            "không được xét tiếp và không khôi phục được.")
    buttons = rows(Button("Xác nhận rút đề xuất", act("my.wy", p.code, str(version))),
                   Button("Không rút", act("my.v", p.code)))
    return Outcome([Reply(text, buttons=buttons, edit=request.incoming.action is not None)])


async def withdraw(request: Request) -> Outcome:
    """Withdraw (version-checked: a stale or repeated press changes nothing)."""
    p = await _own(request, arg(request, 0))
    try:
        done = await request.deps.proposals.withdraw(request.me, p.code, number(request, 1),
                                                     request.now())
    except Refused as exc:
        return refused(request, exc)
    await request.deps.audit.record(request.me.id, "proposal_withdraw", code=done.code)
    return Outcome([Reply(f"Đã rút đề xuất <b>{done.code}</b>.", buttons=rows(LIST, BACK))])


async def edit(request: Request) -> Outcome:
    """Copy a returned proposal into the form, at its review screen."""
    p = await _own(request, arg(request, 0))
    if p.state is not State.RETURNED:
        return refused(request, Refused("Chỉ đề xuất đã được trả lại mới sửa và gửi lại được."))
    draft = Draft(**p.model_dump(include=set(Draft.model_fields) - {"code", "step"}),
                  code=p.code, step="review")
    await request.deps.proposals.store.save_draft(request.me.id, draft)
    return await review(request)


async def _own(request: Request, code: str) -> Proposal:
    p = await request.deps.proposals.store.get(code)
    if p is None or p.author != request.me.id:
        raise access.Forbidden(NOT_YOURS)
    return p


def register(router: Router) -> None:
    """Register /dexuat, the list and its actions."""
    router.command("dexuat", mine, description="Đề xuất của tôi")
    router.action("my", mine)
    router.action("my.v", view)
    router.action("my.w", ask_withdraw)
    router.action("my.wy", withdraw)
    router.action("my.e", edit)
    router.menu_item("Đề xuất của tôi", act("my"), order=31)
