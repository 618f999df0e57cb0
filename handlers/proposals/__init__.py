""""Dân vận khéo" proposals: the member's form and list, review at each level, the gallery;
the year around them: registration, nhân rộng, the annual report."""

from __future__ import annotations

from bot.engine.router import Router
from handlers.proposals import annual, assess, enrol, form, gallery, mine, replicate, review

FLOWS = (form, mine, review, assess, gallery, enrol, replicate, annual)


def register(router: Router) -> None:
    """Install the proposal flows."""
    for flow in FLOWS:
        flow.register(router)
