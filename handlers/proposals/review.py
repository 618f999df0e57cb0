"""Reviewers work through the queues of their scope: "Đề xuất tiếp theo" claims one, the
decision (approve / return / reject, with an official answer and an optional private note)
moves it on. Role and scope are re-checked for every press: payloads can be forged."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, nfc
from bot.org import access
from bot.org.models import Member, Role
from bot.org.tree import OrgTree
from bot.proposals.models import Decision, Limits, Proposal, State, typed_code
from bot.proposals.render import card, history, level_name, photos
from bot.proposals.reviewing import may_review, notify_author, review_units
from bot.proposals.service import OWN, Refused
from handlers.account.cancel import CANCEL
from handlers.account.menu import BACK
from handlers.proposals.assess import assessment_of, summary, verb
from handlers.proposals.ui import arg, number, refused

FLOW = "rv"
NEXT = Button("Đề xuất tiếp theo", act("rv.next"))
NOT_REVIEWER = "Chức năng thẩm định dành cho đồng chí được phân công thẩm định đề xuất."
OUTSIDE = "Đề xuất này không thuộc phạm vi thẩm định của đồng chí."


async def overview(request: Request) -> Outcome:
    """Queue length and age of the oldest item for each queue in scope."""
    tree = await request.tree()
    units = _units(request, tree)
    stats = await request.deps.proposals.queue.stats(units)
    now = request.now().timestamp()
    lines = ["<b>Thẩm định đề xuất Dân vận khéo</b>"]
    waiting = [s for s in stats if s.length]
    for s in waiting:
        age = _age(now - s.oldest) if s.oldest else "—"
        lines.append(f"• {esc(tree.units[s.unit].name)}: <b>{s.length}</b> đề xuất, "
                     f"chờ lâu nhất {age}")
    total = sum(s.length for s in stats)
    lines.append(f"Tổng cộng: <b>{total}</b> đề xuất đang chờ trong phạm vi của đồng chí."
                 if waiting else "Không có đề xuất nào đang chờ trong phạm vi của đồng chí.")
    edit = request.incoming.action is not None
    return Outcome([Reply("\n".join(lines), buttons=rows(NEXT, BACK), edit=edit)])


async def next_one(request: Request) -> Outcome:
    """Claim the next proposal (or show again the one this reviewer holds)."""
    tree = await request.tree()
    units = _units(request, tree)
    try:
        claimed = await request.deps.proposals.next_for(request.me, units, request.now())
    except Refused as exc:  # only the reviewer's own proposals wait
        return Outcome([Reply(str(exc), buttons=rows(Button("Xem hàng chờ", act("rv")), BACK))])
    if claimed is None:
        return Outcome([Reply("Hiện không còn đề xuất nào chờ thẩm định trong phạm vi của "
                              "đồng chí.", buttons=rows(Button("Xem hàng chờ", act("rv")), BACK))])
    p = claimed.proposal
    if claimed.fresh:
        await notify_author(request.deps, tree, p)
    return Outcome(_card(request, p, tree))


async def choose(request: Request) -> Outcome:
    """A decision button: check everything, then ask for the official answer."""
    p, version = await _held(request)
    raw = arg(request, 2)
    if raw not in {d.value for d in Decision}:
        raise access.Forbidden("Quyết định không hợp lệ.")
    decision = Decision(raw)
    dialog = Dialog(flow=FLOW, step="rv.answer",
                    data={"code": p.code, "version": version, "decision": raw})
    low, high = Limits.ANSWER
    text = (f"<b>{verb(decision, p)}</b> đề xuất {p.code}.\nXin đồng chí nhập ý kiến trả lời "
            f"chính thức ({low}–{high} ký tự); tác giả sẽ nhận được nguyên văn ý kiến này.")
    return Outcome([Reply(text, buttons=rows(CANCEL))], dialog=dialog)


async def answer(request: Request) -> Outcome:
    """The official answer; then the optional private note."""
    dialog = _dialog(request, "rv.answer")
    value = nfc(request.text).strip()
    low, high = Limits.ANSWER
    if not low <= len(value) <= high:
        return Outcome([Reply(f"Ý kiến trả lời cần từ {low} đến {high} ký tự (vừa nhập "
                              f"{len(value)}). Xin đồng chí nhập lại.", buttons=rows(CANCEL))],
                       dialog=dialog)
    text = (f"Ghi chú nội bộ (không bắt buộc, tối đa {Limits.NOTE[1]} ký tự): chỉ người thẩm "
            "định và quản trị thấy, tác giả không thấy. Nhập ghi chú, hoặc bấm «Bỏ qua».")
    return Outcome([Reply(text, buttons=rows(Button("Bỏ qua", act("rv.skip")), CANCEL))],
                   dialog=dialog.at("rv.note", answer=value))


async def note(request: Request) -> Outcome:
    """The private note typed (or skipped): show the summary to confirm."""
    dialog = _dialog(request, "rv.note")
    value = "" if request.incoming.action else nfc(request.text).strip()
    if len(value) > Limits.NOTE[1]:
        return Outcome([Reply(f"Ghi chú tối đa {Limits.NOTE[1]} ký tự (vừa nhập {len(value)}).",
                              buttons=rows(Button("Bỏ qua", act("rv.skip")), CANCEL))],
                       dialog=dialog)
    return await summary(request, dialog.at("rv.confirm", note=value))


async def confirm(request: Request) -> Outcome:
    """Apply the decision once; the same button pressed again changes nothing."""
    code, version = arg(request, 0), number(request, 1)
    p = await _proposal(request, code)
    if p.version != version:  # pressed again: it moved on (maybe out of this scope)
        return refused(request, Refused("Đề xuất này đã được xử lý; không có gì thay đổi."))
    tree = await request.tree()
    if not may_review(request.me, p, tree):
        raise access.Forbidden(OUTSIDE)
    dialog = request.dialog
    if (dialog is None or dialog.flow != FLOW or dialog.step != "rv.confirm"
            or dialog.data.get("code") != code or dialog.data.get("version") != version):
        if p.version != version:
            return refused(request, Refused("Đề xuất này đã được xử lý; không có gì thay đổi."))
        raise access.Forbidden("Chưa có ý kiến trả lời cho quyết định này. Đồng chí bấm lại "
                               "nút quyết định trên đề xuất.")
    data = dialog.data
    try:
        done = await request.deps.proposals.decide(
            request.me, code, version, Decision(str(data["decision"])), str(data["answer"]),
            str(data.get("note", "")), request.now(),
            assessment=assessment_of(request, dialog))
    except Refused as exc:
        return Outcome([Reply(str(exc), buttons=rows(NEXT, BACK))])
    await notify_author(request.deps, tree, done)
    await request.deps.audit.record(request.me.id, "proposal_decide", code=code,
                                    state=done.state.value)
    where = (f" và chuyển lên {esc(level_name(done, tree))}"
             if done.state is State.APPROVED else "")
    text = (f"Đã ghi nhận: đề xuất <b>{code}</b> — <b>{done.state.label}</b>{where}. "
            "Người đề xuất đang được thông báo.")
    return Outcome([Reply(text, buttons=rows(NEXT, Button("Xem hàng chờ", act("rv")), BACK))])


async def show_history(request: Request) -> Outcome:
    """The full history, private notes included (reviewers and admins in scope)."""
    p = await _proposal(request, arg(request, 0))
    tree = await request.tree()
    if not access.can(request.me, Role.REVIEWER, p.unit, tree):
        raise access.Forbidden(OUTSIDE)
    events = await request.deps.proposals.store.history(p.code)
    return Outcome([Reply(history(events, private=True), buttons=rows(BACK))],
                   dialog=request.dialog, replace_options=False)


async def lookup(request: Request) -> Outcome:
    """`/tracuu DVK-2026-00042`: a proposal's card and history, for reviewers/admins."""
    if not request.args:
        return Outcome([Reply("Cú pháp: <code>/tracuu DVK-2026-00042</code>")])
    typed = " ".join(request.args)[:40]
    p = await _proposal(request, typed_code(typed) or typed.upper())
    tree = await request.tree()
    if not access.can(request.me, Role.REVIEWER, p.unit, tree):
        raise access.Forbidden(OUTSIDE)
    events = await request.deps.proposals.store.history(p.code)
    return Outcome([*photos(p, request.deps.library.files, p.code),
                    Reply(card(p, tree, short=False)), Reply(history(events, private=True),
                                                             buttons=rows(BACK))])


async def waiting(request: Request) -> Outcome:
    """Text typed at the confirmation."""
    return Outcome([Reply("Xin đồng chí bấm «✓ Xác nhận» (hoặc gõ /huy để hủy).")],
                   dialog=request.dialog, replace_options=False)


# ------------------------------------------------------------------------------ helpers
def _units(request: Request, tree: OrgTree) -> list[str]:
    units = review_units(request.me, request.deps.proposals.levels, tree)
    if not units:
        raise access.Forbidden(NOT_REVIEWER)
    return units


async def _proposal(request: Request, code: str) -> Proposal:
    p = await request.deps.proposals.store.get(code)
    if p is None:
        raise access.Forbidden("Không tìm thấy đề xuất này.")
    return p


async def _held(request: Request) -> tuple[Proposal, int]:
    """The proposal of a decision button, after checking scope, state, claim and version."""
    p = await _proposal(request, arg(request, 0))
    version = number(request, 1)
    if not may_review(request.me, p, await request.tree()):
        raise access.Forbidden(OUTSIDE)
    if p.author == request.me.id:
        raise access.Forbidden(OWN)
    if p.state is State.WITHDRAWN:
        raise access.Forbidden("Đề xuất này đã được tác giả rút; không có gì thay đổi.")
    if p.version != version:
        raise access.Forbidden("Đề xuất này đã được xử lý; không có gì thay đổi.")
    if p.state is not State.IN_REVIEW or p.claimed_by != request.me.id:
        raise access.Forbidden("Đồng chí không còn giữ đề xuất này. Bấm «Đề xuất tiếp theo».")
    return p, version


def _dialog(request: Request, step: str) -> Dialog:
    dialog = request.dialog
    if dialog is None or dialog.flow != FLOW or dialog.step != step:
        raise access.Forbidden("Không có quyết định nào đang soạn. Bấm «Đề xuất tiếp theo».")
    return dialog


def _card(request: Request, p: Proposal, tree: OrgTree) -> list[Reply]:
    version = str(p.version)
    buttons = [Button(verb(d, p), act("rv.d", p.code, version, d.value)) for d in Decision]
    buttons += [Button("Lịch sử xử lý", act("rv.h", p.code)), BACK]
    return [*photos(p, request.deps.library.files, p.code),
            Reply(card(p, tree), buttons=rows(*buttons))]


def _age(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return f"{minutes} phút"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} giờ {minutes} phút" if hours < 48 else f"{hours // 24} ngày"


def _reviews(member: Member) -> bool:
    return access.has_any(member, Role.REVIEWER)


def register(router: Router) -> None:
    """Register the reviewer's routes, /thamdinh, /tracuu and the menu item."""
    router.command("thamdinh", overview, description="Thẩm định đề xuất (người thẩm định)",
                   visible=_reviews)
    router.command("tracuu", lookup, description="Tra cứu đề xuất theo mã, ví dụ "
                   "/tracuu DVK-2026-00042 (người thẩm định)", visible=_reviews)
    router.action("rv", overview)
    router.action("rv.next", next_one)
    router.action("rv.d", choose)
    router.action("rv.skip", note)
    router.action("rv.go", confirm)
    router.action("rv.h", show_history)
    router.step("rv.answer", answer)
    router.step("rv.note", note)
    router.step("rv.confirm", waiting, text=False)
    router.menu_item("Thẩm định đề xuất", act("rv"), order=65,
                     visible=lambda m: any(g.role in (Role.REVIEWER, Role.ADMIN)
                                           for g in m.grants))
