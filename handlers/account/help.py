"""`/help` (`/huongdan`): what the bot does, and exactly the commands this member may use."""

from __future__ import annotations

from bot.engine.messages import Reply, rows
from bot.engine.router import Command, Outcome, Request, Router
from bot.org.models import Member
from handlers.account.menu import BACK

GUEST_HELP = (
    "<b>Hướng dẫn sử dụng</b>\n"
    "Bot phục vụ công tác dân vận của tổ chức đảng: tài liệu học tập, văn bản mới, "
    "khảo sát tâm tư, nguyện vọng, đề xuất mô hình «Dân vận khéo» và thông báo của cấp ủy.\n\n"
    "Để bắt đầu, đồng chí cần <b>mã mời</b> do cán bộ chi bộ cấp. Mở đường dẫn mời, "
    "hoặc gõ <code>/start MÃ-MỜI</code>."
)
MEMBER_LEAD = (
    "<b>Hướng dẫn sử dụng</b>\n"
    "Đồng chí chọn chức năng bằng các nút bấm; nơi không có nút bấm, đồng chí trả lời bằng số "
    "thứ tự của lựa chọn.\n\nCác lệnh đồng chí dùng được:"
)
MEMBER_TAIL = "Thông tin đồng chí gửi chỉ dùng cho công tác của tổ chức."
NOT_LISTED = {"start"}  # joining: members have done it already


def usable(command: Command, member: Member) -> bool:
    """Whether `/help` lists the command for this member."""
    if command.description is None or command.name in NOT_LISTED:
        return False
    return command.visible is None or command.visible(member)


def command_line(command: Command) -> str:
    """'/me (hoặc /toi) — Thông tin của tôi'."""
    names = f"/{command.name}" + "".join(f" (hoặc /{a})" for a in command.aliases)
    return f"{names} — {command.description}"


async def show_help(request: Request) -> Outcome:
    """Explain the bot; the open dialog is kept so the person can carry on."""
    if request.member is None:
        return Outcome([Reply(GUEST_HELP)], dialog=request.dialog)
    member = request.member
    lines = [command_line(c) for c in request.router.commands.values() if usable(c, member)]
    text = "\n".join([MEMBER_LEAD, *lines, "", MEMBER_TAIL])
    return Outcome([Reply(text, buttons=rows(BACK))], dialog=request.dialog)


def register(router: Router) -> None:
    """Register /help and its Vietnamese name /huongdan."""
    router.command("help", show_help, description="Hướng dẫn sử dụng", public=True,
                   keywords=("help", "hướng dẫn", "trợ giúp"), aliases=("huongdan",))
