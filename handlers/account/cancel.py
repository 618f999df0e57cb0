"""`/huy` (or typing "hủy"): leave whatever dialog is open."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.messages import Button, Reply
from bot.engine.router import Outcome, Request, Router
from handlers.account.menu import main_menu

CANCEL = Button("Hủy", act("cancel"))


async def cancel(request: Request) -> Outcome:
    """Drop the open dialog and show where the person can go next."""
    lead = "Đã hủy thao tác đang làm." if request.dialog else "Không có thao tác nào đang làm."
    if request.member is None:
        return Outcome([Reply(f"{lead} Đồng chí gõ /start để bắt đầu lại.")])
    return Outcome([await main_menu(request, lead=lead)])


def register(router: Router) -> None:
    """Register /huy, its keywords and the Hủy button."""
    router.command("huy", cancel, description="Hủy thao tác đang làm", public=True,
                   keywords=("hủy", "huỷ", "cancel", "thoát"))
    router.action("cancel", cancel, public=True)
