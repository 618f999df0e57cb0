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
    gallery,
    help,
    invites,
    link,
    materials,
    menu,
    profile,
    progress,
    proposal_form,
    proposal_mine,
    publish,
    quiz,
    remind,
    review,
    search,
    start,
    survey_answer,  # issue 4
    survey_create,  # issue 4
    survey_form,  # issue 4
    survey_mine,  # issue 4
    survey_results,  # issue 4
)

LIBRARY = (directives, materials, documents, search, progress, quiz, publish, coverage,
           remind)  # issue 3 (notices and reminders through issue 6's delivery engine)
BROADCASTS = (broadcast, broadcast_report)  # issue 6: cadres' announcements
PROPOSALS = (proposal_form, proposal_mine, review, gallery)  # issue 5: "Dân vận khéo"
SURVEYS = (survey_create, survey_form, survey_answer, survey_mine, survey_results)  # issue 4
ZALO = (link,)  # issue 7: link a Zalo and a Telegram account to one member

# Order matters only for the main menu (each item has its own `order`) and for readability.
FLOWS = (start, menu, help, profile, cancel, invites, *LIBRARY, *BROADCASTS, *SURVEYS,
         *PROPOSALS, *ZALO, fallback)


def build_router() -> Router:
    """A router with every flow registered."""
    router = Router()
    for flow in FLOWS:
        flow.register(router)
    return router
