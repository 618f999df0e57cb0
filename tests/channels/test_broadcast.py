"""Broadcasts end to end over real HTTP: the real PTB app (`run_bot`) against the Bot API
stand-in, with the sender workers and the scheduler that run_bot owns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.broadcasts.service import Broadcast
from bot.org.models import Role
from tests.channels.conftest import LiveBot, _live, button_data, labels, live_settings, text
from tests.standin.botapi import BotApiStandin, SentMessage

CADRE, ALICE, BOB, DAVE = 2001, 2002, 2003, 2004
CROWD = range(3000, 3030)


@pytest.fixture
async def fast_bot(standin: BotApiStandin, redis: Redis, valkey_url: str,
                   tmp_path: Path) -> AsyncIterator[LiveBot]:
    """run_bot with a 15 msg/s limit, so a crowd of 30 takes two seconds."""
    settings = live_settings(standin, valkey_url, tmp_path / "data", telegram_rate=15,
                             sender_lease_seconds=1)
    async for bot in _live(standin, settings, redis):
        yield bot


async def press(bot: LiveBot, user: int, message: SentMessage, label: str,
                count: int = 1) -> list[SentMessage]:
    """Press the button labelled `label` (a part of it) on `message`."""
    return await bot.press(user, message, button_data(message, label), count=count)


async def compose_and_send(bot: LiveBot, content: dict[str, object] | str) -> SentMessage:
    """The cadre's whole flow, up to the confirmation; returns the preview's summary."""
    [menu] = await bot.send(CADRE, "/menu")
    [ask] = await press(bot, CADRE, menu, "Gửi thông báo")
    assert "Xin đồng chí gửi nội dung" in text(ask)
    update = bot.standin.make_message_update(CADRE, content)
    [draft] = await bot.send_update(CADRE, update)
    [picker] = await press(bot, CADRE, draft, "Tiếp tục: chọn người nhận")
    [roles] = await press(bot, CADRE, picker, "✓ Chọn Đảng bộ cơ sở A")
    [ack] = await press(bot, CADRE, roles, "Tiếp tục ›")
    [when] = await press(bot, CADRE, ack, "Có, thêm nút")
    preview, summary = await press(bot, CADRE, when, "Gửi ngay", count=2)
    assert "Số người nhận: <b>2</b> đồng chí" in text(summary)  # not the author
    assert labels(preview) == ["✓ Đã nhận"]
    return summary


async def test_broadcast_with_receipts_over_http(live_bot: LiveBot) -> None:
    await live_bot.register(CADRE, unit="cb-a1", name="Phạm Văn Đức",
                            grants=((Role.CADRE, "dbcs-a"),))
    await live_bot.register(ALICE, unit="cb-a1")
    await live_bot.register(BOB, unit="cb-a2")
    await live_bot.register(DAVE, unit="cb-b1")
    live_bot.standin.blocked_chats.add(BOB)
    summary = await compose_and_send(live_bot, "Họp chi bộ <b>khẩn</b> lúc 14:00")
    [done] = await press(live_bot, CADRE, summary, "Xác nhận gửi")
    assert "Đã xác nhận thông báo #1" in text(done)

    [announcement] = await live_bot.standin.wait_sent(ALICE, 1, timeout=10)
    assert announcement.parse_mode == "HTML"
    assert "Họp chi bộ &lt;b&gt;khẩn&lt;/b&gt; lúc 14:00" in text(announcement)
    [finished] = await live_bot.standin.wait_sent(CADRE, 1, timeout=10)  # no copy of its own
    assert "Thông báo #1 đã gửi xong" in text(finished)
    assert "Đã gửi 1/2 người, 1 người đã chặn bot" in text(finished)

    [thanks] = await press(live_bot, ALICE, announcement, "Đã nhận")
    assert "Đã ghi nhận đồng chí đã nhận thông báo #1" in text(thanks)
    [report] = await press(live_bot, CADRE, finished, "Xem báo cáo")
    assert "Chi bộ A1: đã gửi 1/1 · lỗi 0 · chặn bot 0 · đã nhận 1" in text(report)
    assert "Chi bộ A2: đã gửi 0/1 · lỗi 0 · chặn bot 1 · đã nhận 0" in text(report)
    assert live_bot.standin.messages_to(DAVE) == []
    member = await live_bot.member(BOB)
    assert member is not None
    assert await live_bot.deps.redis.hget(live_bot.deps.keys.unreachable(),
                                          member.id) == "telegram:blocked"
    # A forged report button for a unit outside the scope is refused.
    [refused] = await live_bot.press(ALICE, announcement, "bc.v|1")
    assert "không có quyền" in text(refused)


async def test_photo_broadcast_is_resent_by_file_id(live_bot: LiveBot) -> None:
    await live_bot.register(CADRE, unit="cb-a1", grants=((Role.CADRE, "dbcs-a"),))
    await live_bot.register(ALICE, unit="cb-a1")
    await live_bot.register(BOB, unit="cb-a2")
    photo = live_bot.standin.make_photo_update(CADRE, caption="Ảnh hội nghị")
    file_id = photo["message"]["photo"][-1]["file_id"]
    summary = await compose_and_send(live_bot, photo["message"] | {"message_id": 1})
    await press(live_bot, CADRE, summary, "Xác nhận gửi")
    [got] = await live_bot.standin.wait_sent(BOB, 1, timeout=10)
    assert got.method == "sendPhoto" and got.photo is not None
    assert got.photo.file_id == file_id
    assert "Ảnh hội nghị" in text(got)


async def test_stopped_mid_broadcast_resumes_after_restart_exactly_once(
        fast_bot: LiveBot) -> None:
    deps, standin = fast_bot.deps, fast_bot.standin
    cadre = await fast_bot.register(CADRE, unit="dbcs-a", grants=((Role.CADRE, "dbcs-a"),))
    for user in CROWD:
        await fast_bot.register(user, unit="cb-a1")
    now = datetime.now(UTC)
    await deps.broadcasts.create(Broadcast(author=cadre.id, author_name=cadre.name,
                                           unit="dbcs-a", text="Đợt cao điểm", at=now,
                                           created_at=now))
    await standin.wait_for(lambda: sum(1 for u in CROWD if standin.messages_to(u)) >= 8,
                           timeout=10, what="a first part of the crowd")
    await fast_bot.stop()  # in the middle of the broadcast
    stopped_at = sum(1 for u in CROWD if standin.messages_to(u))
    assert stopped_at < len(CROWD)
    await fast_bot.start()
    await standin.wait_for(lambda: all(standin.messages_to(u) for u in CROWD), timeout=15,
                           what="the whole crowd")
    for _ in range(100):
        if (stats := await deps.outbox.stats("bc-1")).state == "done":
            break
        await asyncio.sleep(0.05)
    assert [len(standin.messages_to(u)) for u in CROWD] == [1] * len(CROWD)
    assert (stats.state, stats.overall.sent) == ("done", len(CROWD))  # not the author
    # Never faster than the configured 15 msg/s, across the restart too.
    times = sorted(c.time for c in standin.calls_of("sendMessage")
                   if c.params.get("chat_id") in CROWD)
    assert all(sum(1 for t in times if s <= t < s + 1) <= 16 for s in times)


async def test_scheduled_broadcast_fires_after_a_restart(live_bot: LiveBot) -> None:
    deps = live_bot.deps
    cadre = await live_bot.register(CADRE, unit="cb-a1", grants=((Role.CADRE, "dbcs-a"),))
    await live_bot.register(ALICE, unit="cb-a2")
    await live_bot.stop()
    now = datetime.now(UTC)  # due while the bot is down
    await deps.broadcasts.create(Broadcast(author=cadre.id, author_name=cadre.name,
                                           unit="cb-a2", text="Hẹn giờ", at=now,
                                           created_at=now))
    await live_bot.start()
    [got] = await live_bot.standin.wait_sent(ALICE, 1, timeout=10)
    assert "Hẹn giờ" in text(got)
