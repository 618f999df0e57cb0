"""Every producer of outbox jobs routes its recipients through bot.delivery.reach: a published
directive, a proposal's notice to its author and a survey's invitation go to a member's free Zalo
bot rather than their OA outside 48 h, and to a member no channel reaches not at all — counted
with the reason and kept to offer later. An anonymous survey's invitation is kept sealed (a copy
of the store does not say which survey), its reminders never; and nothing else may build a
job's recipients on its own."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.engine.messages import Incoming
from bot.formatting import VIETNAM
from bot.org.models import Member, Role
from bot.proposals.models import Proposal
from bot.proposals.render import notice_job
from bot.proposals.reviewing import notify_author
from bot.tamtu.models import Level
from bot.tamtu.service import Draft
from tests.conftest import make_member
from tests.handlers.chat import Chat
from tests.handlers.test_library_notices import publish

HOUR = 3600.0
CHANNELS = ("telegram", "zalo_oa", "zalo")
ROOT = Path(__file__).resolve().parents[2]


async def channel_of(deps: Deps, job_id: str, member_id: str) -> str | None:
    """The channel whose stream holds the member's delivery of the job (None: none does)."""
    for channel in CHANNELS:
        for _entry, fields in await deps.redis.xrange(deps.keys.job_queue(job_id, channel)):
            if fields["m"] == member_id:
                return channel
    return None


@pytest.fixture
async def people(deps: Deps) -> dict[str, Member]:
    """A cadre on Telegram; "both" on the Zalo bot and the OA (last wrote to it 3 days ago:
    billed, and billed sends are off); "gone" on the OA only, silent for 9 days."""
    reach = deps.broadcasts.reach
    people = {"c": await make_member(deps, user_id="c", unit="cb-a1", name="Phạm Văn Đức",
                                     grants=((Role.CADRE, "dbcs-a"),))}
    both = await make_member(deps, channel="zalo", user_id="zb", unit="cb-a1")
    await deps.account_links.redeem(await deps.account_links.create(both.id), "zalo_oa", "oa-b")
    await reach.interacted("zalo_oa", "oa-b", time.time() - 72 * HOUR)
    gone = await make_member(deps, channel="zalo_oa", user_id="oa-g", unit="cb-a2")
    await reach.interacted("zalo_oa", "oa-g", time.time() - 9 * 24 * HOUR)
    return {**people, "both": both, "gone": gone}


async def test_a_published_directive_is_routed_and_kept_for_the_unreachable(
        deps: Deps, dispatcher: Dispatcher, people: dict[str, Member]) -> None:
    chat = Chat(dispatcher, "c")
    await publish(chat)
    job = "doc-12-nq-du.v1"
    assert "Đang gửi thông báo văn bản mới tới 1 đảng viên" in chat.text
    assert "1 đồng chí hiện không liên lạc được qua Zalo" in chat.text
    assert await channel_of(deps, job, people["both"].id) == "zalo"
    assert await channel_of(deps, job, people["gone"].id) is None
    assert await deps.outbox.failure_reasons(job) == {"zalo_window_closed": 1}
    assert await deps.outbox.pending(people["gone"].id) == [job]
    assert await deps.outbox.pending(people["both"].id) == []


async def test_a_proposals_notice_to_its_author_is_routed(deps: Deps,
                                                          people: dict[str, Member]) -> None:
    now = datetime.now(UTC)
    for who in ("both", "gone"):
        author = people[who]
        proposal = Proposal(code=f"DVK-{who}", author=author.id, author_name=author.name,
                            route=[author.unit], submitted_at=now, updated_at=now,
                            unit=author.unit, name="Mô hình thử")
        await notify_author(deps, await deps.units.tree(), proposal)
    assert await channel_of(deps, notice_job(proposal.model_copy(update={"code": "DVK-both"})),
                            people["both"].id) == "zalo"
    kept = notice_job(proposal)
    assert await deps.outbox.failure_reasons(kept) == {"zalo_window_closed": 1}
    assert await deps.outbox.pending(people["gone"].id) == [kept]


async def open_anonymous_survey(dispatcher: Dispatcher) -> str:
    """The cadre opens the anonymous "tâm tư" survey for Đảng bộ cơ sở A; its id."""
    boss = Chat(dispatcher, "c")
    await boss.say("/menu")
    await boss.press("Tạo khảo sát")
    await boss.press("tâm tư")
    await boss.press("Chọn Đảng bộ cơ sở A")
    await boss.press("Mở khảo sát")
    assert "Đang gửi thông báo tới 1 đồng chí" in boss.text  # "both", by the Zalo bot
    assert "1 đồng chí hiện không liên lạc được qua Zalo" in boss.text  # "gone", later
    return boss.button("Xem kết quả").action.split("|")[1]


async def test_an_anonymous_surveys_invitation_is_kept_sealed_and_offered_reminders_never(
        deps: Deps, dispatcher: Dispatcher, people: dict[str, Member]) -> None:
    sid = await open_anonymous_survey(dispatcher)
    gone = people["gone"]
    assert await channel_of(deps, f"sv-{sid}", people["both"].id) is None  # sealed: no ids
    assert await deps.redis.xlen(deps.keys.job_queue(f"sv-{sid}", "zalo")) == 1
    assert await deps.redis.xlen(deps.keys.job_queue(f"sv-{sid}", "zalo_oa")) == 0
    assert await deps.outbox.pending(gone.id) == [f"sv-{sid}"]
    # What a copy of the store shows: an entry that names no survey, at the day's start.
    key = deps.keys.pending_notices(gone.id)
    [(entry, score)] = await deps.redis.zrange(key, 0, -1, withscores=True)
    assert str(entry).startswith("~") and f"sv-{sid}" not in str(entry)  # sealed
    assert score % 86_400 == 0
    offer = deps.keys.pending_offer(gone.id)
    assert int(await deps.redis.get(offer)) % 86_400 == 0  # due, and dated to the day only
    for expiring in (key, offer):
        assert await deps.redis.expiretime(expiring) % 86_400 == 0
    # A reminder (who is reminded is who has not answered) is never kept.
    cadre = Chat(dispatcher, "c")
    await cadre.press_raw(f"sv.rm|{sid}")
    assert "Đang gửi nhắc nhở tới" in cadre.text
    assert await deps.outbox.pending(gone.id) == [f"sv-{sid}"]
    assert await deps.redis.zcard(key) == 1
    # When the member writes (the OA's window opens again), the invitation is offered.
    replies = await dispatcher.handle(Incoming("zalo_oa", "oa-g", "oa-g", text="/help"))
    assert "Đồng chí có 1 thông báo chưa đọc" in replies[-1].text
    replies = await dispatcher.handle(Incoming("zalo_oa", "oa-g", "oa-g", text="/chuadoc"))
    assert any("Khảo sát mới" in r.text for r in replies)
    assert not await deps.redis.exists(key, deps.keys.pending_offer(gone.id))


def test_only_the_delivery_package_builds_a_jobs_recipients() -> None:
    """Producers get recipients from `Reach.recipients` / `bot.delivery.address`, so none can
    pick a channel on its own (the first linked account, say) and skip the routing."""
    built = re.compile(r"\bRecipient\(")
    offenders = [str(path.relative_to(ROOT))
                 for folder in ("bot", "handlers") for path in (ROOT / folder).rglob("*.py")
                 if built.search(path.read_text(encoding="utf-8"))
                 and path.parent != ROOT / "bot" / "delivery"]
    assert offenders == []


async def test_a_tamtu_notice_is_routed_and_never_kept(deps: Deps,
                                                       people: dict[str, Member]) -> None:
    """The answer's notice goes by the free Zalo bot; a sender no channel reaches gets none
    and no record of it (its time would be the time their thread was answered)."""
    tree = await deps.units.tree()
    today = deps.clock().astimezone(VIETNAM).date()
    for who in ("both", "gone"):
        thread = await deps.tamtu.submit(people[who], Draft(
            level=Level.TOP, topic="doi-song", text="Đề nghị xem xét chế độ trực đêm.",
            anonymous=True), tree, today)
        await deps.tamtu.reply(people["c"], "Ban Dân vận", thread, "Đã ghi nhận.", today)
    jobs = [str(k) for k in await deps.redis.keys("dv:{job:tt-*}")]
    assert len(jobs) == 1  # only the reachable sender's
    job_id = jobs[0][len("dv:{job:"):-1]
    assert await deps.redis.xlen(deps.keys.job_queue(job_id, "zalo")) == 1
    assert await deps.outbox.pending(people["gone"].id) == []
    assert not await deps.redis.exists(deps.keys.pending_notices(people["gone"].id))
