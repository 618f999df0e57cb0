"""Everything that changes a thread: the member opens, adds, rates and closes; a cadre answers,
forwards, resolves, tags or blocks; the scheduler escalates what waits too long.

The thread's version-checked write is the one truth; queue entries are follow-ups that a reader
drops when they no longer match (see `queue`). Role and unit scope are checked by the callers in
handlers/ on every press; ownership of a thread is proved by the member's own sealed list, never
by opening the thread's sealed sender (that is opened only to deliver answers: `notify`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from redis.asyncio import Redis

from bot.library.models import StoredFile
from bot.org.models import Member
from bot.org.tree import OrgTree
from bot.proposals.durable import Durability
from bot.storage.keys import Keys
from bot.storage.pinned import pinned
from bot.tamtu.anonymity import Anonymity, nearest_with, subtree_sizes
from bot.tamtu.models import FINAL, Level, Post, State, Thread, Topic, new_code
from bot.tamtu.notify import Notifier
from bot.tamtu.routing import targets
from bot.tamtu.store import Conflict, ThreadStore

ALREADY = "Tâm tư này vừa được xử lý (trạng thái đã thay đổi); không có gì thay đổi thêm."


class Refused(Exception):
    """The action cannot be done now; the text says why and is safe to show."""


@dataclass(frozen=True)
class Draft:
    """What the member filled in."""

    level: Level
    topic: str
    text: str
    anonymous: bool
    photo: StoredFile | None = None


@dataclass(frozen=True)
class Policy:
    """The deployment's settings that shape threads."""

    k: int  # smallest group an anonymous thread may be attributed to
    escalate_days: int
    daily_limit: int


class TamtuService:
    """Threads, their queues and their report counters."""

    def __init__(self, redis: Redis, keys: Keys, anonymity: Anonymity, notifier: Notifier,
                 topics: list[Topic], policy: Policy) -> None:
        self._redis = redis
        self._keys = keys
        self.store = ThreadStore(redis, keys)
        self.anonymity = anonymity
        self.notifier = notifier
        self.topics = topics
        self.policy = policy
        self._durability = Durability(redis)

    def topic_name(self, topic_id: str) -> str:
        """A topic's name (its id when the list no longer has it)."""
        return next((t.name for t in self.topics if t.id == topic_id), topic_id)

    # ------------------------------------------------------------------ member side
    async def route(self, member: Member, draft: Draft, tree: OrgTree) -> tuple[str, str]:
        """(handling unit, attributed unit). An anonymous thread goes no lower than the
        nearest unit with ≥ k members, so its queue never points at a smaller group."""
        chosen = dict(targets(member, tree)).get(draft.level)
        if chosen is None:
            raise Refused("Cấp tiếp nhận này không có ở đơn vị của đồng chí.")
        if not draft.anonymous:
            return chosen, member.unit
        chain = tree.ancestors(member.unit)
        attributed = nearest_with(chain, await subtree_sizes(self._redis, self._keys, tree,
                                                             chain), self.policy.k)
        higher = max(chosen, attributed, key=chain.index)
        return higher, attributed

    async def submit(self, member: Member, draft: Draft, tree: OrgTree, today: date) -> Thread:
        """Open a thread (counted against the day's limit), and wait until it is on disk."""
        unit, attributed = await self.route(member, draft, tree)
        quota = self.anonymity.quota_tag(member.id, today)
        if not await self.store.take_quota(quota, self.policy.daily_limit):
            raise Refused(f"Mỗi ngày đồng chí gửi được tối đa {self.policy.daily_limit} tâm tư, "
                          "kiến nghị mới. Xin đồng chí gửi tiếp vào ngày mai, hoặc bổ sung vào "
                          "tâm tư đã gửi trong «Tâm tư của tôi».")
        try:
            thread = await self._create(member, draft, unit, attributed, today)
        except BaseException:
            await self.store.give_back_quota(quota)
            raise
        await self._remember(member, thread.code)
        await self.store.enqueue(unit, thread.code, thread.seq)
        await self.store.count(thread.month, {_cell(thread, "n"): 1})
        await self.notifier.schedule_escalation(thread)
        if thread.anonymous:
            await self.notifier.rewrites.soon()
        return thread

    async def _create(self, member: Member, draft: Draft, unit: str, attributed: str,
                      today: date) -> Thread:
        seq = await self.store.next_seq()
        post = Post(by="member", text=draft.text, day=today, photo=draft.photo)
        for _attempt in range(10):
            code = new_code()
            key = self.store.key(code)
            thread = Thread(
                code=code, topic=draft.topic, unit=unit, attributed=attributed,
                anonymous=draft.anonymous, sender=self.anonymity.seal_sender(member.id, key),
                author_id="" if draft.anonymous else member.id,
                author_name="" if draft.anonymous else member.name, day=today, seq=seq,
                posts=[post], due=today + timedelta(days=self.policy.escalate_days))
            async with pinned(self._redis, key) as conn:
                if await self.store.create(thread, conn):
                    await self._durability.wait(conn)
                    return thread
        raise Refused("Chưa tạo được mã tâm tư; xin đồng chí thử lại.")  # pragma: no cover

    async def _remember(self, member: Member, code: str) -> None:
        """Add the code to the member's sealed list (retried if two accounts race)."""
        tag = self.anonymity.member_tag(member.id)
        key = self.store.mine_key(tag)
        for _attempt in range(20):
            before = await self.store.mine_raw(tag)
            codes = self.anonymity.open_codes(before, key)
            after = self.anonymity.seal_codes([*codes, code], key)
            if await self.store.swap_mine(tag, before, after):
                return

    async def codes_of(self, member: Member) -> list[str]:
        """The member's thread codes, oldest first."""
        tag = self.anonymity.member_tag(member.id)
        return self.anonymity.open_codes(await self.store.mine_raw(tag),
                                         self.store.mine_key(tag))

    async def mine(self, member: Member) -> list[tuple[int, Thread]]:
        """The member's threads with their place in the list (from 1), newest first."""
        codes = await self.codes_of(member)
        found = {t.code: t for t in await self.store.many(codes)}
        return [(i, found[c]) for i, c in reversed(list(enumerate(codes, 1))) if c in found]

    async def owned(self, member: Member, code: str) -> Thread:
        """A thread of the member's own list; Refused for any other code."""
        thread = await self.store.get(code) if code in await self.codes_of(member) else None
        if thread is None:
            raise Refused("Không tìm thấy tâm tư này trong các tâm tư của đồng chí.")
        return thread

    async def nth(self, member: Member, raw: str) -> Thread:
        """The member's thread by its place in their own list (1 = the first they sent): what
        member-side buttons carry, so no screen state stored for their account names a code."""
        codes = await self.codes_of(member)
        index = int(raw) if raw.isdigit() and len(raw) < 6 else 0
        thread = await self.store.get(codes[index - 1]) if 1 <= index <= len(codes) else None
        if thread is None:
            raise Refused("Không tìm thấy tâm tư này trong các tâm tư của đồng chí.")
        return thread

    async def add(self, member: Member, code: str, text: str, photo: StoredFile | None,
                  today: date) -> Thread:
        """The member adds to a thread; an answered one waits for an answer again."""
        before = await self.owned(member, code)
        if before.state in FINAL:
            raise Refused(f"Tâm tư này {before.state.label.lower()}, không bổ sung được nữa.")
        reopen = before.state is not State.OPEN
        due = today + timedelta(days=self.policy.escalate_days) if reopen else before.due
        after = await self._apply(before, state=State.OPEN, due=due, posts=[
            *before.posts, Post(by="member", text=text, day=today, photo=photo)])
        if reopen:
            await self.store.enqueue(after.unit, after.code, after.seq)
            await self.notifier.schedule_escalation(after)
        if after.anonymous:
            await self.notifier.rewrites.soon()
        return after

    async def rate(self, member: Member, code: str, satisfied: bool) -> Thread:
        """Hài lòng / chưa hài lòng with the answers (may be changed later)."""
        before = await self.owned(member, code)
        if before.answered_day is None or before.state is State.BLOCKED:
            raise Refused("Tâm tư này chưa có trả lời để đánh giá.")
        if before.satisfied is satisfied:
            return before
        after = await self._apply(before, satisfied=satisfied)
        fields = {_cell(after, "sat" if satisfied else "uns"): 1}
        if before.satisfied is not None:
            fields[_cell(after, "uns" if satisfied else "sat")] = -1
        await self.store.count(after.month, fields)
        return after

    async def close(self, member: Member, code: str, today: date) -> Thread:
        """The member closes the thread."""
        before = await self.owned(member, code)
        if before.state in FINAL:
            raise Refused(f"Tâm tư này {before.state.label.lower()}.")
        note = Post(by="note", text="Người gửi đã đóng tâm tư.", day=today)
        after = await self._apply(before, state=State.CLOSED, posts=[*before.posts, note])
        await self.store.dequeue(after.unit, after.code)
        return after

    # ------------------------------------------------------------------ cadre side
    async def queue(self, units: list[str], limit: int = 20) -> tuple[list[Thread], int]:
        """The oldest waiting threads over these units, and how many wait in all; entries
        that no longer match their thread (answered, moved, closed) are dropped."""
        entries, total = await self.store.heads(units, limit)
        entries.sort(key=lambda e: e[2])
        threads = await self.store.many(code for _unit, code, _seq in entries[:limit])
        by_code = {t.code: t for t in threads}
        shown: list[Thread] = []
        for unit, code, _seq in entries[:limit]:
            thread = by_code.get(code)
            if thread is None or thread.state is not State.OPEN or thread.unit != unit:
                await self.store.dequeue(unit, code)
                total -= 1
                continue
            shown.append(thread)
        return shown, total

    async def reply(self, cadre: Member, who: str, before: Thread, text: str,
                    today: date) -> Thread:
        """A cadre's answer: the member is notified through the outbox."""
        if before.state in FINAL:
            raise Refused(f"Tâm tư này {before.state.label.lower()}, không trả lời được nữa.")
        first = before.answered_day is None
        after = await self._apply(before, state=State.ANSWERED, answered_day=(
            today if first else before.answered_day), posts=[
            *before.posts, Post(by="cadre", text=text, day=today, who=who)])
        await self.store.dequeue(after.unit, after.code)
        if first:
            await self.store.count(after.month, {_cell(after, "ans"): 1, _cell(
                after, "days"): (today - after.day).days})
        await self.notifier.tell(after, "Đồng chí có trả lời mới cho một tâm tư, kiến nghị "
                                 "đã gửi.")
        return after

    async def forward(self, before: Thread, parent: str, where: str, today: date,
                      *, automatic: bool = False) -> Thread:
        """Move the thread to the level above (by a cadre, or by the scheduler)."""
        if before.state is not State.OPEN:
            raise Refused("Chỉ chuyển được tâm tư đang chờ trả lời.")
        why = (f"Quá {self.policy.escalate_days} ngày chưa trả lời, tự động chuyển lên {where}."
               if automatic else f"Chuyển lên {where}.")
        after = await self._apply(
            before, unit=parent, due=today + timedelta(days=self.policy.escalate_days),
            escalations=before.escalations + int(automatic),
            posts=[*before.posts, Post(by="note", text=why, day=today)])
        await self.store.enqueue(parent, after.code, after.seq)
        await self.store.dequeue(before.unit, after.code)
        await self.notifier.schedule_escalation(after)
        return after

    async def resolve(self, before: Thread, who: str, today: date) -> Thread:
        """Mark it resolved; the member is told and may still rate it."""
        if before.state in FINAL or before.state is State.RESOLVED:
            raise Refused(f"Tâm tư này {before.state.label.lower()}.")
        note = Post(by="note", text=f"Đã giải quyết ({who}).", day=today)
        after = await self._apply(before, state=State.RESOLVED, posts=[*before.posts, note])
        await self.store.dequeue(after.unit, after.code)
        await self.notifier.tell(after, "Một tâm tư, kiến nghị đồng chí đã gửi được đánh dấu "
                                 "đã giải quyết.")
        return after

    async def tag(self, before: Thread, label: str) -> Thread:
        """Add a short label (visible to cadres only)."""
        if label in before.tags:
            return before
        return await self._apply(before, tags=[*before.tags, label][-5:])

    async def block(self, before: Thread, today: date) -> Thread:
        """Lock an abusive thread; its sender is told, and nobody learns who it is."""
        if before.state is State.BLOCKED:
            return before
        note = Post(by="note", text="Tâm tư đã bị khóa do vi phạm quy định trao đổi.", day=today)
        after = await self._apply(before, state=State.BLOCKED, posts=[*before.posts, note])
        await self.store.dequeue(after.unit, after.code)
        await self.notifier.tell(after, "Một tâm tư, kiến nghị đồng chí đã gửi đã bị khóa do "
                                 "có nội dung vi phạm quy định trao đổi.")
        return after

    async def _apply(self, before: Thread, **changes: object) -> Thread:
        after = before.model_copy(update={**changes, "version": before.version + 1})
        try:
            return await self.store.apply(before, after)
        except Conflict:
            raise Refused(ALREADY) from None

def _cell(thread: Thread, metric: str) -> str:
    """A report counter's field: unit | topic | a(nonymous) or n(amed) | metric."""
    return f"{thread.attributed}|{thread.topic}|{'a' if thread.anonymous else 'n'}|{metric}"
