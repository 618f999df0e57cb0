"""Who the member is: sign-up, menu, help, profile, cancel, invites, linking a second platform."""

from __future__ import annotations

from bot.engine.router import Router
from handlers.account import cancel, help, invites, link, menu, profile, start, web

FLOWS = (start, menu, help, profile, cancel, invites, link, web)


def register(router: Router) -> None:
    """Install the account flows (the fallback is installed last by `handlers.build_router`)."""
    for flow in FLOWS:
        flow.register(router)
