"""Flows, one module per capability. `build_router` includes them in one explicit order."""

from __future__ import annotations

from bot.router import Router
from handlers import (
    broadcast,
    broadcast_report,
    cancel,
    coverage,
    directives,
    documents,
    fallback,
    help,
    invites,
    materials,
    menu,
    profile,
    progress,
    publish,
    quiz,
    remind,
    search,
    start,
    survey_answer,  # issue 4
    survey_create,  # issue 4
    survey_mine,  # issue 4
    survey_results,  # issue 4
)

LIBRARY = (directives, materials, documents, search, progress, quiz, publish, coverage,
           remind)  # issue 3 (notices and reminders through issue 6's delivery engine)
BROADCASTS = (broadcast, broadcast_report)  # issue 6: cadres' announcements
SURVEYS = (survey_create, survey_answer, survey_mine, survey_results)  # issue 4

# Order matters only for the main menu (each item has its own `order`) and for readability.
FLOWS = (start, menu, help, profile, cancel, invites, *LIBRARY, *BROADCASTS, *SURVEYS, fallback)


def build_router() -> Router:
    """A router with every flow registered."""
    router = Router()
    for flow in FLOWS:
        flow.register(router)
    return router
