"""Text that nothing else matched: a bare invite code, or a gentle pointer to the menu."""

from __future__ import annotations

from bot.messages import Reply
from bot.router import Outcome, Request, Router
from bot.services.account_links import normalize_link_code
from bot.services.invites import normalize_code
from handlers import link
from handlers.menu import main_menu
from handlers.start import WELCOME, with_code


async def fallback(request: Request) -> Outcome:
    """Answer unmatched text without losing anything the person was doing."""
    if request.member is None:
        if normalize_code(request.text) is not None:
            return await with_code(request, request.text)
        if normalize_link_code(request.text) is not None:  # issue 7: a bare /lienket code
            return await link.with_code(request, request.text)
        return Outcome([Reply(WELCOME)])
    lead = "Bot chưa hiểu ý đồng chí. Xin đồng chí chọn một chức năng dưới đây."
    return Outcome([await main_menu(request, lead=lead)])


def register(router: Router) -> None:
    """Install the fallback."""
    router.set_fallback(fallback)
