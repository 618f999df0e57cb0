"""Routing per member: the first channel that delivers now for free (Telegram when linked, the
OA inside 48 h, the Zalo bot under quota), then billed OA if allowed, else unreachable with the
reason; what the cadre's preview says about it; missed notices kept (never for surveys)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bot.delivery.models import Delivery, Recipient
from bot.delivery.reach import Facts, next_month, route
from bot.delivery.reroute import Rerouter
from bot.deps import Deps
from bot.engine.messages import Reply
from bot.org.models import Member, Role
from handlers.broadcasts.reach import reach_lines
from tests.conftest import make_member
from tests.handlers.chat import Chat
from tests.handlers.test_broadcast import compose, make_dispatcher

NOW = 1_800_000_000.0
HOUR = 3600.0


def member(**identities: str) -> Member:
    return Member(id="1", name="Nguyễn Văn Thử", unit="cb-a1", identities=identities,
                  joined_at=datetime.now(UTC))


def facts(oa_age: float | None = None, *, billed: bool = False,
          exhausted: frozenset[str] = frozenset()) -> Facts:
    last = {("zalo_oa", "o"): NOW - oa_age} if oa_age is not None else {}
    return Facts(NOW, last, exhausted, billed)


def test_telegram_when_linked_comes_first() -> None:
    r = route(member(telegram="t", zalo_oa="o", zalo="z"), facts(1 * HOUR))
    assert (r.channel, r.address, r.cost) == ("telegram", "t", "free")


def test_the_oa_inside_48_hours_is_free() -> None:
    assert route(member(zalo_oa="o", zalo="z"), facts(47 * HOUR)).channel == "zalo_oa"


def test_the_zalo_bot_under_quota_before_a_billed_oa() -> None:
    r = route(member(zalo_oa="o", zalo="z"), facts(72 * HOUR, billed=True))
    assert (r.channel, r.cost) == ("zalo", "free")


def test_billed_oa_only_when_allowed() -> None:
    billed = route(member(zalo_oa="o"), facts(72 * HOUR, billed=True))
    assert (billed.channel, billed.cost) == ("zalo_oa", "billed")
    off = route(member(zalo_oa="o"), facts(72 * HOUR, billed=False))
    assert (off.channel, off.reason) == (None, "zalo_oa_billed_off")


def test_after_7_days_or_never_the_oa_cannot_reach() -> None:
    assert route(member(zalo_oa="o"), facts(8 * 24 * HOUR, billed=True)).reason == \
        "zalo_window_closed"
    assert route(member(zalo_oa="o"), facts(None, billed=True)).reason == "zalo_window_closed"


def test_a_bot_out_of_quota_is_routed_around() -> None:
    out = frozenset({"zalo"})
    assert route(member(zalo="z"), facts(exhausted=out)).reason == "zalo_bot_quota"
    assert route(member(zalo="z", zalo_oa="o"), facts(1 * HOUR, exhausted=out)).channel == \
        "zalo_oa"
    assert route(member(), facts()).reason == "no_account"


def test_quotas_reset_at_the_next_month_vietnam_time() -> None:
    # 31/10 20:00 UTC is already 1/11 03:00 in Vietnam: the reset is 1/12.
    reset = next_month(datetime(2026, 10, 31, 20, 0, tzinfo=UTC))
    assert (reset.month, reset.day, reset.hour) == (12, 1, 0)
    assert reset.utcoffset() is not None and reset.utcoffset().total_seconds() == 7 * 3600


def test_the_preview_counts_free_billed_and_unreachable_per_app() -> None:
    recipients = [Recipient("1", "telegram", "t"), Recipient("2", "zalo_oa", "o"),
                  Recipient("3", "zalo_oa", "p", cost="billed"), Recipient("4", "zalo", "z"),
                  Recipient("5", None, "", reason="zalo_window_closed"),
                  Recipient("6", None, "", reason="no_account")]
    text = "\n".join(reach_lines(recipients))
    assert "• Telegram: 1 miễn phí" in text
    assert "• Zalo OA: 1 miễn phí, 1 có tính phí" in text
    assert "• Zalo (bot): 1 miễn phí" in text
    assert "Không liên lạc được: <b>2</b> đồng chí" in text
    assert "Zalo OA: đã quá thời hạn được nhắn tin" in text and "chưa có tài khoản" in text


async def test_a_cadre_sees_the_breakdown_before_confirming(deps: Deps) -> None:
    await make_member(deps, user_id="c", unit="cb-a1", name="Phạm Văn Đức",
                      grants=((Role.CADRE, "dbcs-a"),))
    await make_member(deps, user_id="t", unit="cb-a2")  # on Telegram (the author is not counted)
    reach = deps.broadcasts.reach
    for user, hours in (("near", 2), ("late", 72), ("gone", 24 * 9)):
        await make_member(deps, channel="zalo_oa", user_id=user, unit="cb-a2")
        await reach.interacted("zalo_oa", user, time.time() - hours * HOUR)
    chat = Chat(make_dispatcher(deps), "c")
    await compose(chat, "Họp chi bộ")
    await chat.press("Tiếp tục ›")
    await chat.press("Không cần")
    await chat.press("Gửi ngay")
    summary = chat.replies[-1].text
    assert "Số người nhận: <b>2</b> đồng chí" in summary
    assert "• Telegram: 1 miễn phí" in summary and "• Zalo OA: 1 miễn phí" in summary
    assert "Không liên lạc được: <b>2</b> đồng chí" in summary
    assert "chỉ nhắn được nếu trả phí" in summary  # "late": billed, and billed sends are off


async def test_missed_notices_are_kept_but_never_for_surveys(deps: Deps) -> None:
    m = await make_member(deps, channel="zalo_oa", user_id="o1", unit="cb-a1")
    gone = Recipient(m.id, None, "", reason="zalo_window_closed")
    await deps.outbox.enqueue("bc-9", [gone], [Reply("Thông báo 9")])
    await deps.outbox.enqueue("sv-3.rm-1", [gone], [Reply("Nhắc khảo sát")])
    assert await deps.outbox.pending(m.id) == ["bc-9"]
    assert [r.text for r in await deps.outbox.messages("bc-9")] == ["Thông báo 9"]
    assert (await deps.outbox.stats("bc-9")).overall.failed == 1


async def test_a_final_failure_goes_to_the_members_next_channel(deps: Deps) -> None:
    m = await make_member(deps, channel="zalo", user_id="z1", unit="cb-a1")
    await deps.account_links.redeem(await deps.account_links.create(m.id), "zalo_oa", "o1")
    await deps.broadcasts.reach.interacted("zalo_oa", "o1", time.time() - HOUR)
    await deps.outbox.enqueue("bc-5", [Recipient(m.id, "zalo", "z1", "cb-a1")], [Reply("Tin")])
    reroute = Rerouter(deps.members, deps.broadcasts.reach, deps.outbox, deps.clock)
    d = Delivery("bc-5", "0-1", m.id, "z1", "cb-a1")
    assert await reroute(d, "zalo", "zalo_bot_quota")
    assert await deps.redis.xlen(deps.keys.job_queue("bc-5", "zalo_oa")) == 1
    assert not await reroute(d, "zalo", "bad_request")  # not a reason another app helps with
