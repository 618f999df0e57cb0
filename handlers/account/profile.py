"""`/me`: the member's profile — name, unit, roles and where they apply."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.messages import Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, vn_datetime
from handlers.account.menu import BACK

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
    return Outcome([Reply(text, buttons=rows(BACK), edit=edit)], dialog=request.dialog)


def register(router: Router) -> None:
    """Register /me and its menu item."""
    router.command("me", show_profile, description="Thông tin của tôi", aliases=("toi",),
                   keywords=("thông tin", "tôi"))
    router.action("me", show_profile)
    router.menu_item("Thông tin của tôi", act("me"), order=90)
