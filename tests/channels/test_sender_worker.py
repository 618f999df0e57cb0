"""`dvbot worker` (bot.app.run_worker): a sender-only process delivers broadcasts over HTTP
and shares the token's limiter with any other process."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis

from bot.app import make_deps, run_worker
from bot.broadcasts.service import Broadcast
from bot.org.models import Role
from tests.channels.conftest import live_settings
from tests.conftest import UNITS, make_member
from tests.standin.botapi import BotApiStandin


async def test_sender_only_processes_share_the_work_and_the_rate(
        standin: BotApiStandin, redis: Redis, valkey_url: str, tmp_path: Path) -> None:
    settings = live_settings(standin, valkey_url, tmp_path / "data", telegram_rate=40)
    deps = make_deps(settings, redis)
    await deps.units.import_units(UNITS)
    cadre = await make_member(deps, user_id="900", unit="khoi", grants=((Role.CADRE, "khoi"),))
    users = [str(5000 + n) for n in range(40)]
    for user in users:
        await make_member(deps, user_id=user, unit="cb-b1")
    stops = [asyncio.Event(), asyncio.Event()]
    workers = [asyncio.create_task(run_worker(settings, stop)) for stop in stops]
    try:
        await standin.wait_for(lambda: len(standin.calls_of("getMe")) == 2, timeout=10)
        now = datetime.now(UTC)
        await deps.broadcasts.create(Broadcast(author=cadre.id, author_name=cadre.name,
                                               unit="dbcs-b", text="Hai tiến trình", at=now,
                                               created_at=now))
        await standin.wait_for(lambda: all(standin.messages_to(int(u)) for u in users),
                               timeout=10, what="every member")
    finally:
        for stop in stops:
            stop.set()
        await asyncio.wait_for(asyncio.gather(*workers), 15)
    assert [len(standin.messages_to(int(u))) for u in users] == [1] * len(users)
    times = sorted(c.time for c in standin.calls_of("sendMessage"))
    span = times[-1] - times[0]
    assert span >= (len(users) - 1) / 40 - 0.05  # two processes, still 40 msg/s in total
