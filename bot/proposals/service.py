"""The proposal workflow: submit, claim the next one, decide, withdraw, resend.

The proposal's version-checked transition (store.py) is the single source of truth; queue
steps around it are idempotent follow-ups, ordered so that a crash anywhere leaves at worst
an entry that no longer matches its proposal, which is acknowledged and skipped when it is
next handed out:
- a new entry is added *before* the transition that points the proposal at it;
- the old entry is acknowledged *after* the transition that moved the proposal on.
Authorization (role and scope) is checked by the callers in handlers/, on every action.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from bot.org.models import Member
from bot.org.tree import OrgTree
from bot.proposals.durable import Durability
from bot.proposals.levels import route_of
from bot.proposals.models import (
    WAITING,
    Assessment,
    Content,
    Decision,
    Event,
    Proposal,
    State,
)
from bot.proposals.queue import Entry, ReviewQueue
from bot.proposals.store import Conflict, ProposalStore
from bot.storage.pinned import pinned

OWN = ("Đồng chí không thể thẩm định đề xuất của chính mình; đề xuất sẽ do người thẩm định "
       "khác xử lý.")
ONLY_OWN = ("Trong phạm vi của đồng chí hiện chỉ còn đề xuất do chính đồng chí gửi; đề xuất đó "
            "vẫn ở trong hàng chờ để người thẩm định khác xử lý.")

class Refused(Exception):
    """The action cannot be done in the proposal's current state; the text says why."""


@dataclass(frozen=True)
class Claimed:
    """A proposal a reviewer now holds, with the queue entry behind it."""

    proposal: Proposal
    entry: Entry
    fresh: bool = False  # this call moved it into review (the author is told)


class ProposalService:
    """Everything that changes a proposal."""

    def __init__(self, redis: Redis, store: ProposalStore, queue: ReviewQueue,
                 durability: Durability, levels: list[frozenset[str]],
                 claim_ms: int) -> None:
        self._redis = redis
        self.store = store
        self.queue = queue
        self.durability = durability
        self.levels = levels
        self.claim_ms = claim_ms
        # Bounds how many proposal operations use connections at once: a submission or a
        # decision holds its connection through WAITAOF (up to a second with appendfsync
        # everysec), and redis-py's pool refuses ("Too many connections") beyond its size,
        # so a burst of members waits here instead of failing.
        self._gate = asyncio.Semaphore(_gate_size(redis))

    # ------------------------------------------------------------------ author side
    async def submit(self, author: Member, content: Content, tree: OrgTree,
                     now: datetime, draft_id: str = "") -> Proposal:
        """Store a new proposal, queue it at its first level, and wait until it is on disk.

        Idempotent per draft: the draft's id is bound to the code it gets (SET NX), so pressing
        «Gửi» again after a crash that kept the draft answers with the same proposal."""
        async with self._gate:
            code = await self.store.sent_code(author.id, draft_id) if draft_id else None
            if code is not None and (done := await self.store.get(code)) is not None:
                return done
            route = route_of(tree, content.unit, self.levels)
            if code is None:
                code = await self.store.new_code(now.year)
                if draft_id:  # a concurrent second press may have bound its code first
                    code = await self.store.bind_sent(author.id, draft_id, code)
            entry = await self.queue.add(route[0], code, 0, now.timestamp(), author.id)
            proposal = Proposal(**_fields(content), code=code, author=author.id,
                                author_name=author.name, route=route, entry=entry,
                                draft=draft_id, submitted_at=now, updated_at=now)
            await self.store.index(proposal)
            event = Event(at=now, actor=author.id, actor_name=author.name, source=None,
                          target=State.SUBMITTED)
            async with pinned(self._redis, self.store.key(code)) as conn:
                created = await self.store.create(proposal, event, conn)
                await self.durability.wait(conn)
            if created:
                return proposal
            await self.queue.done(route[0], entry)  # the other press queued it already
            return await self._get(code)

    async def resend(self, author: Member, code: str, content: Content, tree: OrgTree,
                     now: datetime, draft_id: str = "") -> Proposal:
        """A returned proposal, edited, goes back to the first level (once per draft)."""
        async with self._gate:
            before = await self._own(author, code)
            if draft_id and before.draft == draft_id:
                return before  # this very draft was resent already (a repeated press)
            if before.state is not State.RETURNED:
                raise Refused("Chỉ đề xuất đã được trả lại mới gửi lại được.")
            route = route_of(tree, content.unit, self.levels)
            entry = await self.queue.add(route[0], code, 0, now.timestamp(), author.id)
            after = before.model_copy(update={
                **_fields(content), "state": State.SUBMITTED, "level": 0, "route": route,
                "entry": entry, "claimed_by": None, "version": before.version + 1,
                "updated_at": now, "answer": "", "draft": draft_id})
            event = Event(at=now, actor=author.id, actor_name=author.name,
                          source=before.state, target=State.SUBMITTED,
                          answer="Gửi lại sau khi chỉnh sửa")
            async with pinned(self._redis, self.store.key(code)) as conn:
                try:
                    await self._apply(before, after, event, conn)
                except Refused:
                    await self.queue.done(after.reviewing_unit, entry)
                    raise
                await self.durability.wait(conn)
            return after

    async def withdraw(self, author: Member, code: str, version: int, now: datetime
                       ) -> Proposal:
        """The author takes the proposal back before a final decision."""
        async with self._gate:
            return await self._withdraw(author, code, version, now)

    async def _withdraw(self, author: Member, code: str, version: int, now: datetime
                        ) -> Proposal:
        before = await self._own(author, code)
        _expect(before, version)
        if before.state not in (State.SUBMITTED, State.IN_REVIEW, State.APPROVED,
                                State.RETURNED):
            raise Refused(f"Đề xuất đang ở trạng thái «{before.state.label}», không rút được.")
        after = _moved(before, State.WITHDRAWN, now, entry="", claimed_by=None)
        event = Event(at=now, actor=author.id, actor_name=author.name, source=before.state,
                      target=State.WITHDRAWN, level=before.level)
        await self._durably(before, after, event)
        if before.entry and before.state is not State.RETURNED:
            await self.queue.done(before.reviewing_unit, before.entry)
        return after

    # ---------------------------------------------------------------- reviewer side
    async def next_for(self, reviewer: Member, units: list[str], now: datetime
                       ) -> Claimed | None:
        """The proposal this reviewer should look at: one they already hold, else a claim
        left idle too long by someone else, else a new one; None when the queues are empty.
        Their own proposals stay queued for the other reviewers; when only those wait,
        Refused(ONLY_OWN) says so.

        One unit costs one scripted round trip to its stream (queue.take) plus the claim; a
        reviewer over many units first peeks at all their streams in one pipelined round
        trip and takes only from the best one, so the cost hardly grows with the scope."""
        passed: set[str] = set()  # own proposals whose entries do not name their author
        only_own = False
        async with self._gate:
            for _attempt in range(MAX_TRIES):
                order = units if len(units) == 1 else _ranked(
                    units, await self.queue.peek(units, reviewer.id, self.claim_ms))
                only_own, again = False, False
                for unit in order:
                    taken = await self.queue.take(unit, reviewer.id, self.claim_ms, passed)
                    if taken is None:
                        continue  # emptied since the peek: try the next unit
                    kind, entry = taken
                    if entry is None:  # only the reviewer's own wait there
                        only_own = True
                        continue
                    claimed = await self._check(entry, reviewer, now, passed,
                                                mine=kind == "own", stale=kind == "stale")
                    if claimed is not None:
                        return claimed
                    again = True  # an entry was skipped (or a race lost): look again
                    break
                if not again:
                    break
        if only_own:
            raise Refused(ONLY_OWN)
        return None

    async def decide(self, reviewer: Member, code: str, version: int, decision: Decision,
                     answer: str, note: str, now: datetime, *,
                     assessment: Assessment | None = None) -> Proposal:
        """Approve, return or reject the proposal the reviewer holds (once); returns only
        when the decision is on disk (WAITAOF), since the reviewer is told it is recorded.
        `assessment`: the criteria ticked and, for a recognition, the decision's number."""
        async with self._gate:
            return await self._decide(reviewer, code, version, decision, answer, note, now,
                                      assessment or Assessment())

    async def _decide(self, reviewer: Member, code: str, version: int, decision: Decision,
                      answer: str, note: str, now: datetime,
                      assessment: Assessment) -> Proposal:
        before = await self._get(code)
        if before.state is State.WITHDRAWN:
            raise Refused("Đề xuất này đã được tác giả rút; không có gì thay đổi.")
        if before.author == reviewer.id:
            raise Refused(OWN)
        _expect(before, version)
        if before.state is not State.IN_REVIEW or before.claimed_by != reviewer.id:
            raise Refused("Đồng chí không còn giữ đề xuất này (đã quá thời gian giữ hoặc đã "
                          "có người khác xử lý). Bấm «Đề xuất tiếp theo» để nhận đề xuất mới.")
        old_unit, old_entry = before.reviewing_unit, before.entry
        after = await self._decided(before, decision, answer, now)
        if after.state is State.RECOGNISED and assessment.recognition is not None:
            after = after.model_copy(update={"recognition": assessment.recognition})
        event = Event(at=now, actor=reviewer.id, actor_name=reviewer.name, source=before.state,
                      target=after.state, level=before.level, answer=answer, note=note,
                      criteria=assessment.criteria)
        try:
            await self._durably(before, after, event)
        except Refused:
            if after.entry:  # the next level's entry we added is nobody's: drop it now
                await self.queue.done(after.reviewing_unit, after.entry)
            raise
        await self.queue.done(old_unit, old_entry)
        if after.state is State.RECOGNISED:
            await self.store.recognise(after, now)
        return after

    async def _decided(self, before: Proposal, decision: Decision, answer: str,
                       now: datetime) -> Proposal:
        """The proposal after the decision; an approval short of the last level is first
        queued at the next level (before the transition, see the module docstring)."""
        if decision is Decision.APPROVE and before.level + 1 < len(before.route):
            level = before.level + 1
            entry = await self.queue.add(before.route[level], before.code, level,
                                         now.timestamp(), before.author)
            return _moved(before, State.APPROVED, now, level=level, entry=entry,
                          claimed_by=None, answer=answer)
        target = {Decision.APPROVE: State.RECOGNISED, Decision.RETURN: State.RETURNED,
                  Decision.REJECT: State.REJECTED}[decision]
        return _moved(before, target, now, entry="", claimed_by=None, answer=answer)

    async def _check(self, entry: Entry, reviewer: Member, now: datetime, passed: set[str],
                     *, mine: bool = False, stale: bool = False) -> Claimed | None:
        """Turn a handed-out entry into a claim, or acknowledge it when it no longer matches
        its proposal (withdrawn, decided, a duplicate left by a crash). The reviewer's own
        proposal, which an entry queued before entries named their author can still bring,
        is left in the queue for the others and its code added to `passed`."""
        proposal = await self.store.get(entry.code)
        current = (proposal is not None and proposal.entry == entry.id
                   and proposal.level == entry.level)
        if proposal is not None and current and proposal.author == reviewer.id:
            await self.queue.park(entry.unit, entry.id, self.claim_ms)
            passed.add(proposal.code)
            return None
        if proposal is not None and current:
            if proposal.state is State.IN_REVIEW and proposal.claimed_by == reviewer.id:
                return Claimed(proposal, entry)
            if proposal.state in WAITING or (stale and proposal.state is State.IN_REVIEW):
                claimed = await self._claim(proposal, entry, reviewer, now)
                if claimed is not None:
                    return claimed
                return None  # someone else changed it this instant: leave the entry be
        if not mine or proposal is None or not current:
            await self.queue.done(entry.unit, entry.id)
        return None

    async def _claim(self, proposal: Proposal, entry: Entry, reviewer: Member,
                     now: datetime) -> Claimed | None:
        after = _moved(proposal, State.IN_REVIEW, now, claimed_by=reviewer.id)
        event = Event(at=now, actor=reviewer.id, actor_name=reviewer.name,
                      source=proposal.state, target=State.IN_REVIEW, level=proposal.level)
        try:
            await self.store.apply(proposal, after, event)
        except Conflict:
            return None
        return Claimed(after, entry, fresh=proposal.state in WAITING)

    # ------------------------------------------------------------------ helpers
    async def _get(self, code: str) -> Proposal:
        proposal = await self.store.get(code)
        if proposal is None:
            raise Refused("Không tìm thấy đề xuất này.")
        return proposal

    async def _own(self, author: Member, code: str) -> Proposal:
        proposal = await self._get(code)
        if proposal.author != author.id:
            raise Refused("Đây không phải đề xuất của đồng chí.")
        return proposal

    async def _durably(self, before: Proposal, after: Proposal, event: Event) -> None:
        """Apply a transition the person is told about, and wait until it is on disk (the
        reviewer hears "recorded" only then; the author's notice follows from it)."""
        async with pinned(self._redis, self.store.key(before.code)) as conn:
            await self._apply(before, after, event, conn)
            await self.durability.wait(conn)

    async def _apply(self, before: Proposal, after: Proposal, event: Event,
                     conn: Redis | None = None) -> None:
        try:
            await self.store.apply(before, after, event, conn)
        except Conflict:
            raise Refused(ALREADY) from None


MAX_TRIES = 20  # entries skipped in one "next" (stale ones are acked, so this rarely binds)
GATE_MAX = 64  # concurrent proposal operations at most, whatever the pool allows


def _gate_size(redis: Redis) -> int:
    """Half the connection pool (the rest of the bot needs connections too), at most
    GATE_MAX; redis-py's asyncio pool holds 100 by default."""
    # A cluster client has one pool per node and no `connection_pool`: assume the default.
    pool = getattr(getattr(redis, "connection_pool", None), "max_connections", 0) or 100
    return max(1, min(GATE_MAX, pool // 2))


def _ranked(units: list[str], peeked: list[int]) -> list[str]:
    """Units worth taking from, best first (held, then abandoned, then new), keeping the
    scope's order among equals; those with nothing are left out."""
    worth = [(-score, index) for index, score in enumerate(peeked) if score > 0]
    return [units[index] for _score, index in sorted(worth)]


ALREADY = "Đề xuất này vừa được xử lý (trạng thái đã thay đổi); không có gì thay đổi thêm."


def _fields(content: Content) -> dict[str, object]:
    """Only the author's fields (a Draft also carries its own bookkeeping)."""
    return {name: getattr(content, name) for name in Content.model_fields}


def _expect(proposal: Proposal, version: int) -> None:
    if proposal.version != version:
        raise Refused(ALREADY)


def _moved(before: Proposal, state: State, now: datetime, **changes: object) -> Proposal:
    return before.model_copy(update={"state": state, "version": before.version + 1,
                                     "updated_at": now, **changes})
