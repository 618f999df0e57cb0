"""Browse directives (văn bản chỉ đạo) in force, newest first, a page of buttons at a time;
those no longer in force on a list of their own."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.messages import Button
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc
from bot.library.status import names, vn_day
from handlers.account.menu import BACK
from handlers.library.lookup import FIND, by_number
from handlers.library.ui import item_button, page_arg, pager, screen, visible, vn_date

BACK_TO_LIST = Button("« Văn bản đang có hiệu lực", act("dir"))


async def browse(request: Request) -> Outcome:
    """The directives this member may read, newest first; `/vanban <số hiệu>` opens one."""
    if request.args and not request.args[0].isdigit():
        return await by_number(request, " ".join(request.args))
    library = await request.deps.library.snapshot()
    items = await visible(request, library.directives())
    if not items:
        return screen(request, "Thư viện chưa có văn bản chỉ đạo nào dành cho đồng chí.",
                      [BACK])
    acked = await request.deps.library.acked(request.me.id)
    shown, nav, where = pager(items, page_arg(request, 0), "dir")
    done = sum(1 for e in items if e.id in acked)
    lines = [f"<b>Văn bản chỉ đạo</b> (mới nhất trước){where}",
             f"Đồng chí đã nghiên cứu {done}/{len(items)} văn bản. Chọn văn bản để xem:", ""]
    lines += [f"{'✓' if e.id in acked else '•'} <b>{esc(e.label)}</b> ({vn_date(e.issued)}) — "
              f"{esc(e.title)}" for e in shown]
    buttons = [item_button(e, acked) for e in shown]
    old = await visible(request, library.superseded())
    archive = [Button(f"Văn bản đã hết hiệu lực ({len(old)})", act("dir.old"))] if old else []
    return screen(request, "\n".join(lines), [*buttons, *nav, *archive, FIND, BACK])


async def superseded(request: Request) -> Outcome:
    """Directives no longer in force: still readable, each under its banner."""
    library = await request.deps.library.snapshot()
    items = await visible(request, library.superseded())
    if not items:
        return screen(request, "Chưa có văn bản nào hết hiệu lực.", [BACK_TO_LIST, BACK])
    acked = await request.deps.library.acked(request.me.id)
    shown, nav, where = pager(items, page_arg(request, 0), "dir.old")
    lines = [f"<b>Văn bản đã hết hiệu lực</b>{where}",
             "Các văn bản dưới đây giữ lại để tham khảo; khi áp dụng, đồng chí căn cứ văn bản "
             "hiện hành thay thế.", ""]
    lines += [f"• <b>{esc(e.label)}</b> (hết hiệu lực từ {vn_day(e.ended)}"
              + (f", thay thế bởi {esc(names(e.replaced_by, library.entries))}"
                 if e.replaced_by else "") + ")" for e in shown]
    buttons = [item_button(e, acked) for e in shown]
    return screen(request, "\n".join(lines), [*buttons, *nav, BACK_TO_LIST, BACK])


def register(router: Router) -> None:
    """Register /vanban, the list button and the menu item."""
    router.command("vanban", browse,
                   description="Văn bản chỉ đạo mới nhất; kèm số hiệu để mở một văn bản")
    router.action("dir", browse)
    router.action("dir.old", superseded)
    router.menu_item("Văn bản chỉ đạo", act("dir"), order=20)
