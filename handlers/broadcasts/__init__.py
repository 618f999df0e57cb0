"""Cadres' announcements to a unit subtree: compose, confirm, report, cancel, remind."""

from __future__ import annotations

from bot.engine.router import Router
from handlers.broadcasts import compose, missed, report

FLOWS = (compose, report, missed)


def register(router: Router) -> None:
    """Install the broadcast flows."""
    for flow in FLOWS:
        flow.register(router)
