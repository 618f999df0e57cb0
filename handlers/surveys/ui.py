"""Shared pieces of the survey flows: loading a survey from an (untrusted) payload, screens."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request
from bot.org import access
from bot.org.models import Role
from bot.surveys.models import Survey
from handlers.shared.picker import arg

NOT_FOUND = "Không tìm thấy khảo sát này. Đồng chí gõ /khaosat để xem các khảo sát đang mở."
MINE = Button("Khảo sát của tôi", act("sv.me"))
CREATED = Button("Khảo sát đã tạo", act("sv.ls"))


async def survey_arg(request: Request, index: int = 0) -> Survey:
    """The survey named by a payload argument, or Forbidden with a polite message."""
    survey = await request.deps.surveys.get(arg(request, index))
    if survey is None:
        raise access.Forbidden(NOT_FOUND)
    return survey


async def managed(request: Request, index: int = 0) -> Survey:
    """A survey whose unit lies in the actor's cadre scope (re-checked on every press)."""
    survey = await survey_arg(request, index)
    access.require(request.me, Role.CADRE, survey.unit, await request.tree())
    return survey


def screen(request: Request, text: str, buttons: list[Button], *, width: int = 1,
           keep: bool = False) -> Outcome:
    """A reply that replaces the pressed message where it can; `keep` keeps the dialog."""
    edit = request.incoming.action is not None
    return Outcome([Reply(text, buttons=rows(*buttons, width=width), edit=edit)],
                   dialog=request.dialog if keep else None)
