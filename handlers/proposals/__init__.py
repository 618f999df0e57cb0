""""Dân vận khéo" proposals: the member's form and list, review at each level, the gallery."""

from __future__ import annotations

from bot.engine.router import Router
from handlers.proposals import form, gallery, mine, review

FLOWS = (form, mine, review, gallery)


def register(router: Router) -> None:
    """Install the proposal flows."""
    for flow in FLOWS:
        flow.register(router)
