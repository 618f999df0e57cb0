"""A survey's results for whoever may read them: the one suppressed report every output is
built from (chat text, chart, CSV, XLSX, the web pages), after the visibility policy."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.org.members import MemberStore
from bot.org.tree import OrgTree
from bot.surveys.models import Answer, Survey
from bot.surveys.report import Report, gather
from bot.surveys.store import SurveyStore


class NotVisible(Exception):
    """The survey shows its results only after closing."""


class Services(Protocol):
    """What reading results needs (the process's `Deps` has all of it)."""

    @property
    def surveys(self) -> SurveyStore: ...
    @property
    def members(self) -> MemberStore: ...


async def visible_report(deps: Services, survey: Survey, tree: OrgTree, now: datetime, *,
                         all_texts: bool = False) -> Report:
    """The suppressed report, if the visibility policy allows it now (closing retires the
    anonymous marks first, so a late reader never sees more than the final result)."""
    if not survey.results_visible(now):
        raise NotVisible("Kết quả khảo sát này chỉ xem được sau khi đóng.")
    if now >= survey.closes_at:
        await deps.surveys.retire(survey)
    return await gather(deps.surveys, survey, tree, all_texts=all_texts)


async def people(deps: Services, survey: Survey, tree: OrgTree
                 ) -> list[tuple[str, str, list[Answer]]]:
    """Named surveys: (name, unit name, answers) of each respondent; anonymous: nobody."""
    if survey.anonymous:
        return []
    answers = await deps.surveys.named_answers(survey.id)
    members = await deps.members.many(sorted(answers, key=int))
    return [(m.name, tree.units[m.unit].name if m.unit in tree.units else m.unit,
             answers[m.id]) for m in members]
