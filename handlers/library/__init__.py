"""Directives and study materials: reading, search, progress, quizzes, publishing, coverage."""

from __future__ import annotations

from bot.engine.router import Router
from handlers.library import (
    coverage,
    directives,
    documents,
    materials,
    progress,
    publish,
    quiz,
    remind,
    search,
)

FLOWS = (directives, materials, documents, search, progress, quiz, publish, coverage, remind)


def register(router: Router) -> None:
    """Install the library flows."""
    for flow in FLOWS:
        flow.register(router)
