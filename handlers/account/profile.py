"""`/me`: the member's profile — name, unit, roles and where they apply."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, vn_datetime
from bot.org.access import Forbidden
from handlers.account.cancel import CANCEL
from handlers.account.menu import BACK
from handlers.account.start import confirm_name, name_problem

CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "zalo_oa": "Zalo OA",
                 "console": "Dòng lệnh"}


async def show_profile(request: Request) -> Outcome:
    """Show who the bot thinks the member is."""
    member = request.me
    tree = await request.tree()
    home = tree.get(member.unit)
    roles = [f"Đảng viên (sinh hoạt tại {esc(home.name if home else member.unit)})"] + [
        f"{g.role.label} — {esc(tree.path(g.unit) or g.unit)}" for g in member.grants
    ]
    channels = ", ".join(CHANNEL_NAMES.get(c, c) for c in member.identities)
    text = (
        "<b>Thông tin của tôi</b>\n"
        f"Họ và tên: {esc(member.name)}\n"
        f"Đơn vị: {esc(tree.path(member.unit) or member.unit)}\n"
        f"Vai trò:\n" + "\n".join(f"• {r}" for r in roles) + "\n"
        f"Tham gia từ: {vn_datetime(member.joined_at, with_time=False)}\n"
        f"Ứng dụng liên lạc: {channels}\n"
        f"Mã thành viên: <code>{esc(member.id)}</code>"
    )
    edit = request.incoming.action is not None
    buttons = rows(Button("Đổi họ và tên", act("me.nm")), BACK)
    return Outcome([Reply(text, buttons=buttons, edit=edit)], dialog=request.dialog)


async def ask_name(request: Request) -> Outcome:
    """"Đổi họ và tên" (a name mistyped at sign-up can be put right)."""
    text = (f"Họ và tên hiện ghi là: <b>{esc(request.me.name)}</b>.\nXin đồng chí gõ họ và tên "
            "đầy đủ, có dấu.")
    return Outcome([Reply(text, buttons=rows(CANCEL))], dialog=Dialog(flow="me", step="me.name"))


async def typed_name(request: Request) -> Outcome:
    """The new name: checked like at sign-up, then shown back to confirm."""
    name = " ".join(request.text.split())
    problem = name_problem(name)
    if problem:
        return Outcome([Reply(problem, buttons=rows(CANCEL))], dialog=request.dialog)
    return confirm_name(Dialog(flow="me", step="me.ok", data={"name": name}), name, "me.nmy",
                        "me.nm")


async def rename(request: Request) -> Outcome:
    """"✓ Đúng": store the new name."""
    dialog = request.dialog
    if dialog is None or dialog.flow != "me" or "name" not in dialog.data:
        raise Forbidden("Không có họ tên nào đang chờ xác nhận. Đồng chí mở «Thông tin của tôi».")
    member = await request.deps.members.rename(request.me.id, str(dialog.data["name"]))
    await request.deps.audit.record(member.id, "rename")
    changed = Request(request.incoming, request.deps, request.router, member, None)
    shown = await show_profile(changed)
    return Outcome([Reply("✓ Đã đổi họ và tên."), *shown.replies], dialog=None)


def register(router: Router) -> None:
    """Register /me and its menu item."""
    router.command("me", show_profile, description="Thông tin của tôi", aliases=("toi",),
                   keywords=("thông tin", "tôi"))
    router.action("me", show_profile)
    router.action("me.nm", ask_name)
    router.action("me.nmy", rename)
    router.step("me.name", typed_name)
    router.step("me.ok", typed_name, text=False)  # "1" confirms, a name retypes
    router.menu_item("Thông tin của tôi", act("me"), order=90)
