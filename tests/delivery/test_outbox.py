"""The outbox's producer side: atomic, idempotent expansion; cancel; counters; confirmations."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.delivery.models import Recipient
from bot.delivery.outbox import Outbox
from bot.engine.messages import Reply
from tests.delivery.conftest import KEYS

PEOPLE = [Recipient("1", "telegram", "101", "cb-a1"), Recipient("2", "telegram", "102", "cb-a1"),
          Recipient("3", "telegram", "103", "cb-a2"), Recipient("4", None, "", "cb-a2")]


async def test_enqueue_expands_once_even_when_repeated(redis: Redis) -> None:
    outbox = Outbox(redis, KEYS)
    assert await outbox.enqueue("bc-1", PEOPLE, [Reply("Họp chi bộ lúc 14:00")])
    assert not await outbox.enqueue("bc-1", PEOPLE, [Reply("again")])  # a re-fired schedule
    assert await redis.xlen(KEYS.job_queue("bc-1", "telegram")) == 3
    assert await redis.zrange(KEYS.jobs_active("telegram"), 0, -1) == ["bc-1"]
    stats = await outbox.stats("bc-1")
    assert stats.state == "sending"
    assert (stats.overall.total, stats.overall.failed, stats.overall.pending) == (4, 1, 3)
    assert stats.groups["cb-a2"].failed == 1 and stats.groups["cb-a1"].total == 2
    # The member without an account on any channel is a recorded failure, never queued.
    assert await redis.hget(KEYS.job_failed("bc-1"), "4") == "no_account"


async def test_cancel_before_firing_wins_over_a_late_enqueue(redis: Redis) -> None:
    outbox = Outbox(redis, KEYS)
    assert await outbox.cancel("bc-2") == ""
    assert not await outbox.enqueue("bc-2", PEOPLE, [Reply("x")])
    assert await redis.exists(KEYS.job_queue("bc-2", "telegram")) == 0
    assert (await outbox.stats("bc-2")).state == "cancelled"


async def test_cancel_while_sending_drops_what_is_left(redis: Redis) -> None:
    outbox = Outbox(redis, KEYS)
    await outbox.enqueue("bc-3", PEOPLE, [Reply("x")])
    assert await outbox.cancel("bc-3") == "sending"
    assert await redis.exists(KEYS.job_queue("bc-3", "telegram")) == 0
    assert await redis.zrange(KEYS.jobs_active("telegram"), 0, -1) == []
    stats = await outbox.stats("bc-3")
    assert (stats.state, stats.overall.cancelled, stats.overall.pending) == ("cancelled", 3, 0)
    assert await outbox.cancel("bc-3") == "cancelled"
    assert await redis.ttl(KEYS.job_stats("bc-3")) > 0


async def test_confirmations_count_once_and_only_for_recipients(redis: Redis) -> None:
    outbox = Outbox(redis, KEYS)
    await outbox.enqueue("bc-4", PEOPLE, [Reply("x")])
    assert await outbox.confirm("bc-4", "1") == 1
    assert await outbox.confirm("bc-4", "1") == 0
    assert await outbox.confirm("bc-4", "99") is None  # a forged press by a non-recipient
    assert await outbox.confirm("bc-9", "1") is None
    stats = await outbox.stats("bc-4")
    assert stats.overall.confirmed == 1 and stats.groups["cb-a1"].confirmed == 1
    await redis.sadd(KEYS.job_sent("bc-4"), "1", "2", "3")
    assert await outbox.unconfirmed("bc-4") == {"2": "cb-a1", "3": "cb-a2"}


async def test_schedule_and_unschedule(redis: Redis) -> None:
    from datetime import UTC, datetime

    outbox = Outbox(redis, KEYS)
    await outbox.schedule("bc-5", datetime(2030, 1, 1, tzinfo=UTC))
    when = datetime(2030, 1, 1, tzinfo=UTC)
    assert await redis.zscore(KEYS.jobs_due(), "bc-5") == when.timestamp()
    assert await outbox.unschedule("bc-5")
    assert not await outbox.unschedule("bc-5")


async def test_a_job_nobody_can_receive_is_done_at_once(redis: Redis) -> None:
    outbox = Outbox(redis, KEYS)
    assert await outbox.enqueue("bc-6", [Recipient("9", None, "", "g")], [Reply("x")])
    stats = await outbox.stats("bc-6")
    assert (stats.state, stats.overall.failed, stats.overall.pending) == ("done", 1, 0)
    assert await outbox.enqueue("bc-7", [], [Reply("x")])
    assert (await outbox.stats("bc-7")).state == "done"
