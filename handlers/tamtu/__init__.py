""""Tâm tư, kiến nghị": the member's form and list, the cadres' queue and the monthly report."""

from __future__ import annotations

from bot.engine.router import Router
from handlers.tamtu import form, mine, queue, report

FLOWS = (form, mine, queue, report)


def register(router: Router) -> None:
    """Install the tâm tư flows."""
    for flow in FLOWS:
        flow.register(router)
