"""`/help`: what the bot does and how to use it, for members and for people not yet registered."""

from __future__ import annotations

from bot.engine.messages import Reply, rows
from bot.engine.router import Outcome, Request, Router
from handlers.account.menu import BACK

GUEST_HELP = (
    "<b>Hướng dẫn sử dụng</b>\n"
    "Bot phục vụ công tác dân vận của tổ chức Đảng: tài liệu học tập, văn bản mới, "
    "khảo sát tâm tư, nguyện vọng, đề xuất mô hình \"Dân vận khéo\" và thông báo của cấp ủy.\n\n"
    "Để bắt đầu, đồng chí cần <b>mã mời</b> do cán bộ chi bộ cấp. Mở đường link mời, "
    "hoặc gõ <code>/start MÃ-MỜI</code>."
)

MEMBER_HELP = (
    "<b>Hướng dẫn sử dụng</b>\n"
    "Đồng chí chọn chức năng bằng các nút bấm; trên kênh không có nút, trả lời bằng số thứ tự.\n\n"
    "/menu — mở menu chính\n"
    "/vanban — văn bản chỉ đạo mới nhất; /tailieu — tài liệu học tập theo chủ đề\n"
    "/timkiem từ khóa — tìm văn bản, tài liệu (có dấu hay không dấu đều được)\n"
    "/tiendo — tiến độ học tập của tôi\n"
    "/thongbao — thông báo đồng chí đã gửi, tiến độ và báo cáo (dành cho cán bộ)\n"
    "/me — thông tin của tôi (họ tên, đơn vị, vai trò)\n"
    "/huy — hủy thao tác đang làm (cũng có thể gõ \"hủy\")\n"
    "/help — xem hướng dẫn này\n\n"
    "Thông tin đồng chí gửi chỉ dùng cho công tác của tổ chức."
)


async def show_help(request: Request) -> Outcome:
    """Explain the bot; the open dialog is kept so the person can carry on."""
    if request.member is None:
        return Outcome([Reply(GUEST_HELP)], dialog=request.dialog)
    return Outcome([Reply(MEMBER_HELP, buttons=rows(BACK))], dialog=request.dialog)


def register(router: Router) -> None:
    """Register /help."""
    router.command("help", show_help, description="Hướng dẫn sử dụng", public=True,
                   keywords=("help", "hướng dẫn", "trợ giúp"))
