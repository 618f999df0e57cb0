"""Text that nothing else matched: a bare invite code, or a gentle pointer to the menu."""

from __future__ import annotations

from bot.engine.messages import Reply
from bot.engine.router import Outcome, Request, Router
from bot.org.account_links import normalize_link_code
from bot.org.invites import normalize_code
from handlers.account import link
from handlers.account.menu import main_menu
from handlers.account.start import WELCOME, with_code


async def fallback(request: Request) -> Outcome:
    """Answer unmatched text without losing anything the person was doing."""
    if request.member is None:
        if normalize_code(request.text) is not None:
            return await with_code(request, request.text)
        if normalize_link_code(request.text) is not None:  # a bare /lienket code
            return await link.with_code(request, request.text)
        return Outcome([Reply(WELCOME)])
    lead = "Bot chưa hiểu ý đồng chí. Xin đồng chí chọn một chức năng dưới đây."
    return Outcome([await main_menu(request, lead=lead)])


def register(router: Router) -> None:
    """Install the fallback."""
    router.set_fallback(fallback)
