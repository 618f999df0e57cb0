"""Opening and closing times: the scheduler (bot.delivery.schedule) fires `svo-<id>` at a
scheduled opening — audience snapshot, then the notice — and `svx-<id>` at the closing time —
the anonymous salt and marks are destroyed and the author is told the results are final.

Both are idempotent: the scheduler fires a job once across processes, but again after a crash
within its lease; an open survey is not snapshotted twice, and the outbox job ids are fixed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis

from bot.delivery.address import Addressed, addressees
from bot.delivery.outbox import Outbox
from bot.engine.actions import act
from bot.engine.messages import Button, Reply
from bot.formatting import esc, vn_datetime
from bot.ops.audit import AuditLog
from bot.org.members import MemberStore
from bot.org.models import Member
from bot.org.tree import OrgTree, UnitStore
from bot.settings import Settings
from bot.storage.history import AofRewrites
from bot.surveys.models import Spec, Survey
from bot.surveys.notices import opening_message
from bot.surveys.store import SurveyStore

OPEN_JOB, CLOSE_JOB = "svo", "svx"
AUTHOR_GRACE = timedelta(days=7)  # the author key outlives the closing time by this much


class Services(Protocol):
    """What the opening and closing need (the process's `Deps` has all of it)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def units(self) -> UnitStore: ...
    @property
    def members(self) -> MemberStore: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def surveys(self) -> SurveyStore: ...
    @property
    def redis(self) -> Redis: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def rewrites(self) -> AofRewrites: ...


class SurveyTimes:
    """Schedules and fires the opening and closing of surveys."""

    def __init__(self, deps: Services) -> None:
        self._deps = deps

    def jobs(self) -> dict[str, Callable[[str], Awaitable[None]]]:
        """Job kinds for `bot.delivery.schedule.by_kind`."""
        return {OPEN_JOB: self.fire_open, CLOSE_JOB: self.fire_close}

    async def schedule(self, survey: Survey, author_id: str, now: datetime) -> None:
        """After `SurveyStore.open`: the closing job, the opening job if it is pending, and
        whom to tell at closing."""
        deps = self._deps
        ttl = int((survey.closes_at - now + AUTHOR_GRACE).total_seconds())
        await deps.surveys.set_author(survey.id, author_id, max(ttl, 60))
        await deps.outbox.schedule(f"{CLOSE_JOB}-{survey.id}", survey.closes_at)
        if survey.pending:
            await deps.outbox.schedule(f"{OPEN_JOB}-{survey.id}", survey.opens_at)

    async def open(self, spec: Spec, *, unit: str, author: Member, tree: OrgTree, now: datetime,
                   closes: datetime, opens: datetime | None = None
                   ) -> tuple[Survey, Addressed]:
        """Open a survey (the chat's «Mở khảo sát» and the dashboard alike): store it with its
        audience snapshot, schedule closing (and opening), record it, and notify the audience
        now unless it opens later. Returns the survey and whom its notice went to."""
        deps = self._deps
        survey = await deps.surveys.open(spec, unit=unit, author_name=author.name, tree=tree,
                                         now=now, closes_at=closes, opens_at=opens,
                                         author=author.id)
        await self.schedule(survey, author.id, now)
        await deps.audit.record(author.id, "survey_open", id=survey.id, unit=unit,
                                anonymous=str(survey.anonymous))
        if survey.pending:
            return survey, Addressed()
        return survey, await self.announce(survey, tree)

    async def announce(self, survey: Survey, tree: OrgTree) -> Addressed:
        """Notify the snapshot of an open survey; returns whom it went to."""
        deps = self._deps
        ids = await deps.surveys.audience_ids(tree, survey.unit,
                                              without=await deps.surveys.author_of(survey.id))
        found = await addressees(deps.outbox.reach, deps.members, tree, ids, survey.unit)
        name = tree.units[survey.unit].name if survey.unit in tree.units else survey.unit
        # Sealed: the job lists nobody; those no channel reaches now are offered it when they
        # next write, under a sealed entry (bot.delivery.missed).
        await deps.outbox.enqueue(f"sv-{survey.id}", found.job, [opening_message(survey, name)],
                                  paid=deps.settings.telegram_paid_rate > 0, sealed=True)
        return found

    async def fire_open(self, job_id: str) -> None:
        """`svo-<id>`: the scheduled opening."""
        survey = await self._deps.surveys.get(job_id.split("-", 1)[1])
        if survey is None or not survey.pending:
            return  # gone, or already opened by an earlier firing
        if survey.closes_at <= self._deps.clock():
            return  # closed before it ever opened ("Đóng khảo sát" on a scheduled survey)
        tree = await self._deps.units.tree()
        survey = await self._deps.surveys.activate(survey, tree)
        await self.announce(survey, tree)

    async def fire_close(self, job_id: str) -> None:
        """`svx-<id>`: the closing time. Destroy the marks, tell the author, once."""
        deps = self._deps
        survey = await deps.surveys.get(job_id.split("-", 1)[1])
        if survey is None:
            return
        await deps.surveys.retire(survey)
        if survey.anonymous:
            await deps.rewrites.at(deps.clock())  # the marks' history leaves the AOF too
        author = await deps.surveys.take_author(survey.id)
        if author is None:
            return
        tree = await deps.units.tree()
        targets = (await addressees(deps.outbox.reach, deps.members, tree, [author],
                                    survey.unit)).job
        text = (f"<b>Khảo sát đã đóng</b>\n<b>{esc(survey.title)}</b> đã đóng lúc "
                f"{vn_datetime(survey.closes_at)}. Kết quả bây giờ là kết quả cuối cùng"
                + ("; thông tin ai đã trả lời đã được xóa hẳn." if survey.anonymous else "."))
        reply = Reply(text, buttons=((Button("Xem kết quả", act("sv.r", survey.id)),),))
        await deps.outbox.enqueue(f"{CLOSE_JOB}-{survey.id}", targets, [reply],
                                  paid=deps.settings.telegram_paid_rate > 0)

