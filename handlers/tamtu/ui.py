"""Pieces the tâm tư flows share: buttons, dates by the day, the thread as the member and as a
cadre see it (never the sender of an anonymous thread), photos, scope checks."""

from __future__ import annotations

from datetime import date

from bot.engine.actions import act
from bot.engine.dispatcher import notice
from bot.engine.messages import Attachment, Button, Reply
from bot.engine.router import Outcome, Request
from bot.formatting import VIETNAM, esc
from bot.org import access
from bot.org.models import Member, Role
from bot.org.tree import OrgTree
from bot.tamtu.models import Thread, looks_like_code
from bot.tamtu.service import Refused, TamtuService

NEW = Button("Gửi tâm tư, kiến nghị", act("tt.new"))
MINE = Button("Tâm tư của tôi", act("tt.mine"))
QUEUE = Button("Tâm tư cần trả lời", act("tt.q"))
FORGED = "Nút bấm thiếu thông tin hoặc không hợp lệ. Đồng chí gõ /menu để bắt đầu lại."
NOT_LISTENER = ("Chức năng này dành cho đồng chí được phân công tiếp nhận tâm tư, kiến nghị "
                "của đơn vị.")
OUTSIDE = "Tâm tư này không thuộc đơn vị đồng chí được phân công tiếp nhận."


def today(request: Request) -> date:
    """Today in Vietnam (threads are dated by the day only)."""
    return request.now().astimezone(VIETNAM).date()


def vn_day(day: date) -> str:
    """09/5/2024: two-digit day, month without a leading zero except 01 and 02."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{day.day:02d}/{month}/{day.year}"


def number(value: int) -> str:
    """3.000 (the Vietnamese thousands separator)."""
    return f"{value:,}".replace(",", ".")


def code_arg(request: Request, index: int = 0) -> str:
    """A thread code from a button, or Forbidden when the payload lacks a well-formed one."""
    if index >= len(request.args) or not looks_like_code(request.args[index]):
        raise access.Forbidden(FORGED)
    return request.args[index]


def refused(request: Request, exc: Refused) -> Outcome:
    """A refusal as a polite notice that keeps whatever is on screen."""
    return notice(str(exc), request.dialog)


def unit_name(tree: OrgTree, unit_id: str) -> str:
    """A unit's name, or its id when it is gone."""
    unit = tree.get(unit_id)
    return unit.name if unit else unit_id


def header(thread: Thread, service: TamtuService, tree: OrgTree) -> list[str]:
    """Code, topic, state, level and dates: what both sides see."""
    return [f"<b>Tâm tư, kiến nghị {thread.code}</b>",
            f"Chủ đề: {esc(service.topic_name(thread.topic))}",
            f"Trạng thái: <b>{thread.state.label}</b>",
            f"Gửi đến: {esc(unit_name(tree, thread.unit))}",
            f"Ngày gửi: {vn_day(thread.day)}"]


def posts(thread: Thread, *, for_cadre: bool) -> list[str]:
    """The exchange, oldest first; the member's posts never carry a name."""
    lines = []
    for post in thread.posts:
        if post.by == "member":
            who = "Người gửi" if for_cadre else "Đồng chí"
        elif post.by == "cadre":
            who = f"Trả lời ({esc(post.who)})"
        else:
            who = "Ghi chú"
        photo = " [kèm ảnh]" if post.photo else ""
        lines.append(f"• {vn_day(post.day)} — <b>{who}</b>{photo}: {esc(post.text)}")
    return lines


def member_view(thread: Thread, service: TamtuService, tree: OrgTree) -> str:
    """The thread as its sender sees it."""
    lines = header(thread, service, tree)
    lines.append("Hình thức: " + ("ẩn danh" if thread.anonymous else "ghi tên"))
    if thread.satisfied is not None:
        lines.append("Đánh giá của đồng chí: "
                     + ("hài lòng" if thread.satisfied else "chưa hài lòng"))
    return "\n".join([*lines, "", *posts(thread, for_cadre=False)])


def cadre_view(thread: Thread, service: TamtuService, tree: OrgTree, today: date) -> str:
    """The thread as a cadre sees it: for an anonymous one, no name, no home unit smaller than
    k members, no time of day (nothing in Thread holds more than that)."""
    lines = header(thread, service, tree)
    if thread.anonymous:
        lines.append(f"Người gửi: <b>ẩn danh</b>, thuộc {esc(unit_name(tree, thread.attributed))}")
    else:
        lines.append(f"Người gửi: {esc(thread.author_name)} — "
                     f"{esc(unit_name(tree, thread.attributed))}")
    due = f"Hạn trả lời: {vn_day(thread.due)}"
    lines.append(due + (" — <b>QUÁ HẠN</b>" if thread.overdue(today) else ""))
    if thread.tags:
        lines.append("Nhãn: " + ", ".join(esc(t) for t in thread.tags))
    if thread.satisfied is not None:
        lines.append("Người gửi đánh giá: " + ("hài lòng" if thread.satisfied else
                                              "chưa hài lòng"))
    return "\n".join([*lines, "", *posts(thread, for_cadre=True)])


def photos(thread: Thread, request: Request) -> list[Reply]:
    """The stripped photos of a thread, each as its own message."""
    files = request.deps.library.files
    return [Reply("", photo=Attachment(files.path(p.photo), "anh.jpg",
                                       caption=f"{thread.code} — ảnh ngày {vn_day(p.day)}"))
            for p in thread.posts if p.photo is not None]


def listener_units(member: Member, tree: OrgTree) -> list[str]:
    """Every unit whose queue the member reads: their scopes and everything below."""
    units: list[str] = []
    for root in access.top_scopes(member, Role.LISTENER, tree):
        units += [u for u in tree.subtree(root) if u not in units]
    if not units:
        raise access.Forbidden(NOT_LISTENER)
    return units


async def handled(request: Request, code: str) -> Thread:
    """A thread the cadre may act on (role and scope re-checked on every press)."""
    thread = await request.deps.tamtu.store.get(code)
    if thread is None:
        raise access.Forbidden("Không tìm thấy tâm tư này.")
    if not access.can(request.me, Role.LISTENER, thread.unit, await request.tree()):
        raise access.Forbidden(OUTSIDE)
    return thread


def is_listener(member: Member) -> bool:
    """Shows the cadre's menu item."""
    return any(g.role in (Role.LISTENER, Role.ADMIN) for g in member.grants)
