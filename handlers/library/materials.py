"""Browse study materials (tài liệu học tập) by topic."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.messages import Button
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc
from bot.library.store import topic_slug
from handlers.account.menu import BACK
from handlers.library.lookup import FIND
from handlers.library.ui import arg, item_button, page_arg, pager, screen, visible

TOPICS = Button("« Các chủ đề", act("mat"))


async def topics(request: Request) -> Outcome:
    """Topics that have materials this member may read."""
    library = await request.deps.library.snapshot()
    items = await visible(request, library.materials())
    if not items:
        return screen(request, "Thư viện chưa có tài liệu học tập nào dành cho đồng chí.",
                      [BACK])
    acked = await request.deps.library.acked(request.me.id)
    counts: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for entry in items:
        slug = topic_slug(entry.topic or "")
        names[slug] = entry.topic or ""
        count = counts.setdefault(slug, [0, 0])
        count[0] += 1
        count[1] += entry.id in acked
    buttons = [Button(f"{names[s]} ({done}/{total})", act("mat.t", s, "0"))
               for s, (total, done) in counts.items()]
    text = ("<b>Tài liệu học tập</b>\nChọn chủ đề (trong ngoặc: số tài liệu đồng chí đã "
            "nghiên cứu / tổng số):")
    return screen(request, text, [*buttons, FIND, BACK])


async def topic(request: Request) -> Outcome:
    """The materials of one topic."""
    slug = arg(request, 0)
    library = await request.deps.library.snapshot()
    items = [e for e in await visible(request, library.materials())
             if topic_slug(e.topic or "") == slug]
    if not items:
        return screen(request, "Chủ đề này không còn tài liệu nào.", [TOPICS, BACK])
    acked = await request.deps.library.acked(request.me.id)
    shown, nav, where = pager(items, page_arg(request, 1), "mat.t", slug)
    lines = [f"<b>Tài liệu học tập — {esc(items[0].topic or '')}</b>{where}", ""]
    for entry in shown:
        quiz = f" · bài tự kiểm tra {entry.questions} câu" if entry.questions else ""
        lines.append(f"{'✓' if entry.id in acked else '•'} <b>{esc(entry.title)}</b>{quiz}")
    buttons = [item_button(e, acked) for e in shown]
    return screen(request, "\n".join(lines), [*buttons, *nav, TOPICS, BACK])


def register(router: Router) -> None:
    """Register /tailieu, the topic buttons and the menu item."""
    router.command("tailieu", topics, description="Tài liệu học tập theo chủ đề")
    router.action("mat", topics)
    router.action("mat.t", topic)
    router.menu_item("Tài liệu học tập", act("mat"), order=21)
