"""`/web`: a one-time sign-in link to the web dashboard, for cadres, reviewers and admins."""

from __future__ import annotations

from bot.engine.messages import Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc
from bot.org.access import is_staff
from bot.web.links import sign_in_url
from bot.web.sessions import WebSessions
from handlers.account.menu import BACK


async def web_link(request: Request) -> Outcome:
    """The link (valid 10 minutes, single use, bound to this member), or a polite refusal."""
    member = request.me
    if not is_staff(member):
        return Outcome([Reply("Bảng điều khiển trên máy tính dành cho cán bộ, người thẩm định và "
                              "quản trị viên. Đồng chí vẫn dùng đầy đủ các chức năng khác ngay "
                              "trong cuộc trò chuyện này.", buttons=rows(BACK))])
    deps = request.deps
    token = await WebSessions(deps.redis, deps.keys).issue_link(member.id)
    url = sign_in_url(deps.settings, token)
    await deps.audit.record(member.id, "web_link")
    text = ("<b>Đăng nhập bảng điều khiển</b>\n"
            f"Mở đường dẫn sau trên máy tính hoặc điện thoại: {esc(url)}\n"
            "Đường dẫn chỉ dùng được một lần, trong 10 phút, và chỉ cho đồng chí. "
            "Xin đừng chuyển cho người khác.")
    return Outcome([Reply(text, buttons=rows(BACK))])


def register(router: Router) -> None:
    """Register /web."""
    router.command("web", web_link, description="Mở bảng điều khiển trên máy tính (cán bộ)",
                   visible=is_staff,
                   keywords=("bảng điều khiển",))
