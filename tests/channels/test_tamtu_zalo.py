"""Tâm tư over the Zalo Bot Platform, end to end over real HTTP and by typed numbers only: a
member sends a named thread, a cadre on Zalo answers and resolves it, the member gets the
notices from the delivery workers and rates the answer "chưa hài lòng"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.org.models import Role
from tests.channels.zalo_live import ZALO_TOKEN, Running, number_of, start_polling
from tests.channels.zalo_live import say_as as say
from tests.conftest import make_member
from tests.standin.zalo_bot import ZaloBotStandin

MEMBER, CADRE = "zu-member", "zu-cadre"


@pytest.fixture
async def running(redis: Redis, valkey_url: str, tmp_path: Path
                  ) -> AsyncIterator[tuple[ZaloBotStandin, Running]]:
    """run_bot polling the Zalo Bot Platform stand-in, with a member and a cadre on Zalo."""
    async with ZaloBotStandin(ZALO_TOKEN) as standin:
        bot = await start_polling(standin, redis, valkey_url, tmp_path / "data")
        await make_member(bot.deps, channel="zalo", user_id=MEMBER, unit="cb-b1",
                          name="Phạm Văn Zalo")
        await make_member(bot.deps, channel="zalo", user_id=CADRE, unit="dbcs-b",
                          name="Cán bộ Zalo", grants=((Role.LISTENER, "dbcs-b"),))
        yield standin, bot
        await bot.stop()


async def test_named_thread_by_numbers_answered_resolved_and_rated(
        running: tuple[ZaloBotStandin, Running]) -> None:
    standin, bot = running
    levels = await say(standin, MEMBER, "/tamtu")
    topics = await say(standin, MEMBER, number_of(levels, "Cấp ủy Đảng bộ cơ sở"))
    ask = await say(standin, MEMBER, number_of(topics, "Đời sống"))
    assert "10–2000 ký tự" in ask
    photo = await say(standin, MEMBER, "Xin cấp ủy quan tâm hỗ trợ gia đình đảng viên bị bão lũ.")
    who = await say(standin, MEMBER, number_of(photo, "Không gửi ảnh"))
    summary = await say(standin, MEMBER, number_of(who, "Ghi tên"))
    assert "Gửi đến: Đảng bộ cơ sở B" in summary
    sent = await say(standin, MEMBER, number_of(summary, "Gửi"))
    code = sent.split("Mã: ")[1].split(".")[0]

    queue = await say(standin, CADRE, "/tamtucanbo")
    assert "Đang chờ: 1" in queue
    card = await say(standin, CADRE, number_of(queue, code))
    assert "Phạm Văn Zalo" in card  # named: the cadre sees who
    prompt = await say(standin, CADRE, number_of(card, "Trả lời"))
    assert "nguyên văn" in prompt
    done = await say(standin, CADRE, "Công đoàn đã lập danh sách hỗ trợ, sẽ trao trong tuần.")
    assert "Đã gửi trả lời" in done
    resolved = await say(standin, CADRE, number_of(done, "Đã giải quyết"))
    assert "Đã đánh dấu đã giải quyết" in resolved

    notices = [m.text for m in await standin.wait_sent(MEMBER, 2, timeout=10)]
    assert any("trả lời mới" in n for n in notices) and any("đã giải quyết" in n for n in notices)
    mine = await say(standin, MEMBER, "/tamtu")
    mine = await say(standin, MEMBER, number_of(mine, "Tâm tư của tôi"))
    assert f"Số 1: {code}" in mine and "Đã giải quyết" in mine
    view = await say(standin, MEMBER, number_of(mine, "Xem tâm tư số 1"))
    assert "Công đoàn đã lập danh sách hỗ trợ" in view
    rated = await say(standin, MEMBER, number_of(view, "Chưa hài lòng"))
    assert "chưa hài lòng" in rated
    stored = await bot.deps.tamtu.store.get(code)
    assert stored is not None and stored.satisfied is False
