"""The member's own progress: what they studied, what is left, their best quiz scores."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.messages import Button
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc
from handlers.account.menu import BACK
from handlers.library.documents import progress_line
from handlers.library.ui import item_button, screen, visible

NEXT_MAX = 5


async def show(request: Request) -> Outcome:
    """Counts, best scores, and buttons to the newest documents not yet studied."""
    library = await request.deps.library.snapshot()
    mine = await visible(request, [*library.directives(), *library.materials()])
    acked = await request.deps.library.acked(request.me.id)
    scores = await request.deps.library.quiz_scores(request.me.id)
    lines = ["<b>Tiến độ học tập của tôi</b>", await progress_line(request, library)]
    quizzes = [e for e in mine if e.questions]
    done = [e for e in quizzes if e.id in scores]
    if quizzes:
        lines.append(f"Bài tự kiểm tra đã làm: {len(done)}/{len(quizzes)}.")
        lines += [f"• {esc(e.title)}: cao nhất {scores[e.id]}/{e.questions} câu đúng"
                  for e in done]
    todo = [e for e in mine if e.id not in acked]
    page = _page(request, len(todo))
    shown = todo[page * NEXT_MAX:(page + 1) * NEXT_MAX]
    if todo:
        where = (f" — {page * NEXT_MAX + 1}–{page * NEXT_MAX + len(shown)} trong {len(todo)}"
                 if len(todo) > NEXT_MAX else "")
        lines += ["", f"Chưa nghiên cứu (văn bản mới nhất trước){where}:"]
    else:
        lines += ["", "Đồng chí đã nghiên cứu toàn bộ văn bản, tài liệu hiện có. Cảm ơn đồng chí!"]
    buttons = [item_button(e, acked) for e in shown]
    if page > 0:
        buttons.append(Button("‹ Trang trước", act("prog", str(page - 1))))
    if (page + 1) * NEXT_MAX < len(todo):
        buttons.append(Button("Trang sau ›", act("prog", str(page + 1))))
    return screen(request, "\n".join(lines), [*buttons, BACK])


def _page(request: Request, count: int) -> int:
    """The page a button asked for, kept inside the list (forged numbers change nothing)."""
    raw = request.args[0] if request.incoming.action and request.args else "0"
    last = max(0, (count - 1) // NEXT_MAX)
    return min(int(raw), last) if raw.isdigit() and len(raw) < 4 else 0


def register(router: Router) -> None:
    """Register /tiendo, the button and the menu item."""
    router.command("tiendo", show, description="Tiến độ học tập của tôi")
    router.action("prog", show)
    router.menu_item("Tiến độ học tập của tôi", act("prog"), order=23)
