"""Flows, one package per capability. `build_router` includes them in one explicit order.

Each capability's `register` installs its own flows; the fallback for unmatched text goes last.
"""

from __future__ import annotations

from bot.engine.router import Router
from handlers import account, broadcasts, library, proposals, surveys, tamtu
from handlers.account import fallback

# Order matters only for readability: main-menu items carry their own `order`.
CAPABILITIES = (account, library, broadcasts, surveys, proposals, tamtu)


def build_router() -> Router:
    """A router with every flow registered."""
    router = Router()
    for capability in CAPABILITIES:
        capability.register(router)
    fallback.register(router)
    return router
