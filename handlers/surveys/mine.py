""""Khảo sát của tôi" (/khaosat): the open surveys this member was asked, answered or not."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.messages import Button
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, short, vn_datetime
from bot.surveys.store import ALREADY, NOT_IN_AUDIENCE
from handlers.account.menu import BACK
from handlers.surveys.ui import screen

SHOWN = 10


async def mine(request: Request) -> Outcome:
    """List open surveys in which the member is in the audience snapshot."""
    deps, now = request.deps, request.now()
    todo: list[Button] = []
    done: list[str] = []
    for survey_id in await deps.surveys.ids_closing_after(now):
        survey = await deps.surveys.get(survey_id)
        if survey is None or not survey.is_open(now):
            continue
        status = await deps.surveys.status(survey, request.me.id)
        if status == NOT_IN_AUDIENCE:
            continue
        until = vn_datetime(survey.closes_at)
        if status == ALREADY:
            done.append(f"✓ {esc(survey.title)} — đã trả lời")
            if survey.allow_change:
                todo.append(Button(f"Sửa: {short(survey.title, 40)}", act("sv.go", survey.id)))
        else:
            todo.append(Button(f"{short(survey.title, 48)} (hạn {until})", act("sv.go", survey.id)))
    if not todo and not done:
        return screen(request, "<b>Khảo sát của tôi</b>\nHiện không có khảo sát nào đang mở "
                               "dành cho đồng chí.", [BACK])
    lines = ["<b>Khảo sát của tôi</b>"]
    if todo:
        lines.append("Khảo sát đang chờ đồng chí trả lời — chọn để bắt đầu:")
    lines += done
    return screen(request, "\n".join(lines), [*todo[:SHOWN], BACK])


def register(router: Router) -> None:
    """Register /khaosat, its button and the menu item."""
    router.command("khaosat", mine, description="Khảo sát của tôi")
    router.action("sv.me", mine)
    router.menu_item("Khảo sát của tôi", act("sv.me"), order=24)
