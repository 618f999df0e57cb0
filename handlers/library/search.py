"""Search the library by words: diacritics and case do not matter, số hiệu may be typed loosely."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc
from bot.library.audience import can_read
from handlers.account.cancel import CANCEL
from handlers.account.menu import BACK
from handlers.library.ui import PAGE, item_button, vn_date

STEP = "find.q"
QUERY_MAX = 100
ASK = ("<b>Tìm văn bản, tài liệu</b>\nĐồng chí gõ từ khóa, có dấu hay không dấu đều được. "
       "Ví dụ: <code>nghi quyet 25</code>, <code>25nq</code>, <code>dân vận khéo</code>, "
       "<code>quy chế dân chủ</code>.")


async def ask(request: Request) -> Outcome:
    """Ask for words (menu button, or /timkiem without words)."""
    return Outcome([Reply(ASK, buttons=rows(CANCEL))], dialog=Dialog(flow="find", step=STEP))


async def command(request: Request) -> Outcome:
    """`/timkiem từ khóa`."""
    if not request.args:
        return await ask(request)
    return await _answer(request, " ".join(request.args))


async def typed(request: Request) -> Outcome:
    """Words typed while the search prompt is open."""
    return await _answer(request, request.text)


async def page(request: Request) -> Outcome:
    """"Trang sau ›" / "‹ Trang trước" of the last search (its words are in the dialog)."""
    dialog = request.dialog
    raw = request.args[0] if request.args else ""
    if dialog is None or dialog.flow != "find" or "q" not in dialog.data or not raw.isdigit():
        return await ask(request)
    return await _answer(request, str(dialog.data["q"]), int(raw[:3]))


async def _answer(request: Request, query: str, number: int = 0) -> Outcome:
    query = " ".join(query.split())[:QUERY_MAX]
    library = await request.deps.library.snapshot()
    tree, me = await request.tree(), request.me
    # Only the pages up to this one are ranked, not every match.
    count, best = library.top(query, (number + 1) * PAGE,
                              lambda audience: can_read(me, audience, tree))
    # Stay open: the next words refine the search; the words are kept for the next page.
    dialog = Dialog(flow="find", step=STEP, data={"q": query})
    if not count:
        text = (f"Không tìm thấy văn bản, tài liệu nào khớp với «{esc(query)}». Đồng chí thử "
                "từ khóa khác, ngắn hơn, hoặc gõ số hiệu (ví dụ <code>43-KL/TW</code>), hoặc "
                "xem danh sách văn bản, tài liệu.")
        browse = (Button("Văn bản chỉ đạo", act("dir")), Button("Tài liệu học tập", act("mat")))
        return Outcome([Reply(text, buttons=rows(*browse, CANCEL, BACK))], dialog=dialog)
    acked = await request.deps.library.acked(request.me.id)
    number = min(number, (count - 1) // PAGE)
    shown = best[number * PAGE:(number + 1) * PAGE]
    more = (f" (hiện {number * PAGE + 1}–{number * PAGE + len(shown)})"
            if count > PAGE else "")
    lines = [f"<b>Kết quả cho «{esc(query)}»</b>: {count} mục{more}.", ""]
    if len(same := library.numbered(query)) > 1:  # numbering restarts each khóa
        lines[-1:-1] = [f"Có {len(same)} văn bản cùng số hiệu này, ban hành ở các khóa khác "
                        "nhau: đồng chí xem ngày ban hành để chọn đúng văn bản."]
    lines += [f"• <b>{esc(e.label)}</b>"
              + (f" ({vn_date(e.issued)})" if e.issued else f" — {esc(e.topic or '')}")
              for e in shown]
    lines += ["", "Chọn để xem, hoặc gõ từ khóa khác để tìm tiếp."]
    buttons = [item_button(e, acked) for e in shown]
    if number > 0:
        buttons.append(Button("‹ Trang trước", act("find.pg", str(number - 1))))
    if (number + 1) * PAGE < count:
        buttons.append(Button("Trang sau ›", act("find.pg", str(number + 1))))
    return Outcome([Reply("\n".join(lines), buttons=rows(*buttons, CANCEL, BACK))],
                   dialog=dialog)


def register(router: Router) -> None:
    """Register /timkiem, the prompt step and the menu item."""
    router.command("timkiem", command, description="Tìm văn bản, tài liệu",
                   keywords=("tìm kiếm", "tim kiem"))
    router.action("find", ask)
    router.action("find.pg", page)
    router.step(STEP, typed)
    router.menu_item("Tìm văn bản, tài liệu", act("find"), order=22)
