"""Surveys: create (template or guided form), answer, the member's list, results."""

from __future__ import annotations

from bot.engine.router import Router
from handlers.surveys import answer, create, form, mine, results

FLOWS = (create, form, answer, mine, results)


def register(router: Router) -> None:
    """Install the survey flows."""
    for flow in FLOWS:
        flow.register(router)
