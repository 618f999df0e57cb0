"""Flows, one module per capability. `build_router` includes them in one explicit order."""

from __future__ import annotations

from bot.router import Router
from handlers import cancel, fallback, help, invites, menu, profile, start

# Order matters only for the main menu (each item has its own `order`) and for readability.
FLOWS = (start, menu, help, profile, cancel, invites, fallback)


def build_router() -> Router:
    """A router with every flow registered."""
    router = Router()
    for flow in FLOWS:
        flow.register(router)
    return router
