"""Every notice is routed by who can be reached now, not only broadcasts: a directive reminder
goes to a member's free Zalo bot rather than their OA outside its 48 h (never even trying the
OA); a member no channel reaches gets nothing, is counted with the reason, and is offered the
notice when they next write — on Telegram too; a Telegram message records the member's last
Telegram interaction. run_bot with the Telegram, Zalo Bot Platform and Zalo OA stand-ins."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.channels.zalo_oa import webhook_path
from bot.library import reminders
from bot.library.models import Entry
from bot.org.models import Member, Role
from tests.channels.conftest import TOKEN, USERNAME, live_settings
from tests.channels.zalo_live import ZALO_TOKEN, Running, start
from tests.conftest import free_port, make_member
from tests.library.helpers import import_shipped
from tests.standin.botapi import BotApiStandin
from tests.standin.zalo_bot import ZaloBotStandin
from tests.standin.zalo_oa import APP_ID, APP_SECRET, OA_SECRET, ZaloOaStandin

DOC = "25-nq-tw"
HOUR = 3600


@dataclass
class World:
    """run_bot on all three platforms' stand-ins."""

    running: Running
    telegram: BotApiStandin
    bot_api: ZaloBotStandin
    oa: ZaloOaStandin

    async def oa_wrote(self, user: str, hours_ago: float) -> None:
        """The member last wrote to the OA `hours_ago` (as the OA and dvbot both saw it)."""
        moment = time.time() - hours_ago * HOUR
        await self.running.deps.broadcasts.reach.interacted("zalo_oa", user, moment)
        self.oa.interactions[user] = self.oa.now() - hours_ago * HOUR

    async def remind(self, cadre: Member) -> str:
        """The cadre's «Nhắc nhở» of 25-NQ/TW to Chi bộ A1; returns the job id."""
        deps = self.running.deps
        entry: Entry = (await deps.library.snapshot()).entries[DOC]
        sent = await reminders.send(deps, await deps.units.tree(), entry, "cb-a1", cadre.id,
                                    datetime.now(UTC))
        return reminders.reminder_job(DOC, "cb-a1", sent.window)

    async def done(self, job_id: str) -> None:
        """Wait until the job has nothing left to send."""
        for _ in range(150):
            if (await self.running.deps.outbox.stats(job_id)).state == "done":
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{job_id} never finished")


@pytest.fixture
async def world(redis: Redis, valkey_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with BotApiStandin(token=TOKEN, username=USERNAME) as telegram, \
            ZaloBotStandin(ZALO_TOKEN) as bot_api, ZaloOaStandin() as oa:
        settings = live_settings(
            telegram, valkey_url, tmp_path / "data", zalo_bot_token=ZALO_TOKEN,
            zalo_bot_api_url=bot_api.url, zalo_oa_app_id=APP_ID, zalo_oa_app_secret=APP_SECRET,
            zalo_oa_secret_key=OA_SECRET, zalo_oa_access_token=oa.access_token,
            zalo_oa_refresh_token=oa.refresh_token, zalo_oa_api_url=oa.url,
            zalo_oa_oauth_url=oa.url, zalo_oa_billed=True, http_host="127.0.0.1",
            http_port=free_port())
        running = await start(settings, redis)
        await bot_api.wait_call("getUpdates")
        await import_shipped(running.deps)
        oa.cloud_account = "ok"  # billed OA sends would go through: routing must still avoid
        yield World(running, telegram, bot_api, oa)
        await running.stop()


async def cadre_of(world: World) -> Member:
    """A cadre of Chi bộ A1 on Telegram who has studied the directive (so is not reminded)."""
    deps = world.running.deps
    cadre = await make_member(deps, user_id="7001", unit="cb-a1", name="Phạm Văn Đức",
                              grants=((Role.CADRE, "cb-a1"),))
    await deps.library.ack(DOC, cadre.id, cadre.unit)
    return cadre


async def test_a_directive_reminder_goes_by_the_free_zalo_bot_not_the_oa_outside_48_hours(
        world: World) -> None:
    deps = world.running.deps
    cadre = await cadre_of(world)
    member = await make_member(deps, channel="zalo", user_id="zb-m", unit="cb-a1")
    await deps.account_links.redeem(await deps.account_links.create(member.id), "zalo_oa",
                                    "oa-m")
    await world.oa_wrote("oa-m", 72)  # billed on the OA now, and billed sends are allowed
    job = await world.remind(cadre)
    [reminder] = await world.bot_api.wait_sent("zb-m", timeout=15)
    assert "Nhắc nhở nghiên cứu văn bản" in reminder.text and "25-NQ/TW" in reminder.text
    await world.done(job)
    stats = (await deps.outbox.stats(job)).overall
    assert (stats.total, stats.sent, stats.billed, stats.failed) == (1, 1, 0, 0)
    # The OA was never asked: not billed, and not refused first and rerouted after.
    assert world.oa.sent == [] and world.oa.rejected == []


async def test_nobody_reachable_gets_nothing_and_is_offered_it_on_telegram_later(
        world: World) -> None:
    deps = world.running.deps
    cadre = await cadre_of(world)
    member = await make_member(deps, channel="zalo_oa", user_id="oa-n", unit="cb-a1")
    await world.oa_wrote("oa-n", 9 * 24)  # past the OA's 7 days: nothing can be sent
    job = await world.remind(cadre)
    # Counted at once with the reason, never tried on the OA, kept for the member.
    assert (await deps.outbox.failure_reasons(job)) == {"zalo_window_closed": 1}
    assert await deps.outbox.pending(member.id) == [job]
    await world.done(job)
    assert world.oa.sent == [] and world.oa.rejected == []
    # The member links Telegram and writes there: the offer comes with the answer.
    await deps.account_links.redeem(await deps.account_links.create(member.id), "telegram",
                                    "7002")
    world.telegram.user_sends(7002, "/help")
    _help, offer = await world.telegram.wait_sent(7002, 2, timeout=10)
    assert offer.text == ("Đồng chí có 1 thông báo chưa đọc (gửi khi chưa liên lạc được với "
                          "đồng chí). Gõ /chuadoc để xem.")
    world.telegram.user_sends(7002, "/khaosat")  # not again within a few hours
    [answer] = await world.telegram.wait_sent(7002, timeout=10)
    assert "thông báo chưa đọc" not in (answer.text or "")
    world.telegram.user_sends(7002, "/chuadoc")
    [missed] = await world.telegram.wait_sent(7002, timeout=10)
    assert "Nhắc nhở nghiên cứu văn bản" in (missed.text or "")
    assert await deps.outbox.pending(member.id) == []
    assert not await deps.redis.exists(deps.keys.pending_offer(member.id))


async def test_a_member_out_of_every_window_is_offered_it_when_they_write_to_the_oa(
        world: World) -> None:
    deps = world.running.deps
    cadre = await cadre_of(world)
    member = await make_member(deps, channel="zalo_oa", user_id="oa-p", unit="cb-a1")
    await world.oa_wrote("oa-p", 8 * 24)
    job = await world.remind(cadre)
    await world.done(job)
    assert world.oa.sent == [] and world.oa.rejected == []  # not tried only to be refused
    event = world.oa.event("oa-p", "/help")  # opens the OA's free window again
    url = f"http://127.0.0.1:{world.running.settings.http_port}{webhook_path(OA_SECRET)}"
    assert await world.oa.post_event(url, event) == 200
    _help, offer = await world.oa.wait_sent("oa-p", 2, timeout=10)
    assert "Đồng chí có 1 thông báo chưa đọc" in offer.text
    assert await deps.outbox.pending(member.id) == [job]


async def test_a_telegram_message_records_the_members_last_telegram_interaction(
        world: World) -> None:
    deps = world.running.deps
    await make_member(deps, user_id="7003", unit="cb-a1")
    assert await deps.broadcasts.reach.last("telegram", "7003") is None
    before = time.time()
    world.telegram.user_sends(7003, "/help")
    await world.telegram.wait_sent(7003, timeout=10)
    for _ in range(50):  # the record rides on the batched release of the lock
        last = await deps.broadcasts.reach.last("telegram", "7003")
        if last is not None:
            break
        await asyncio.sleep(0.05)
    assert last in (before // HOUR * HOUR, time.time() // HOUR * HOUR)  # to the hour
    # Stored under a pseudonym: the set does not name the account.
    members = await deps.redis.zrange(deps.keys.last_interaction("telegram"), 0, -1)
    assert members and "7003" not in "".join(map(str, members))


async def test_the_oa_free_inside_48_hours_then_billed_when_allowed(world: World) -> None:
    deps = world.running.deps
    cadre = await cadre_of(world)
    await make_member(deps, channel="zalo_oa", user_id="oa-near", unit="cb-a1")
    await make_member(deps, channel="zalo_oa", user_id="oa-late", unit="cb-a1")
    await world.oa_wrote("oa-near", 2)
    await world.oa_wrote("oa-late", 72)
    job = await world.remind(cadre)
    [near] = await world.oa.wait_sent("oa-near", timeout=15)
    [late] = await world.oa.wait_sent("oa-late", timeout=15)
    assert "Nhắc nhở nghiên cứu văn bản" in near.text and not near.billed
    assert "Nhắc nhở nghiên cứu văn bản" in late.text and late.billed
    await world.done(job)
    stats = (await deps.outbox.stats(job)).overall
    assert (stats.sent, stats.billed, stats.failed) == (2, 1, 0)  # the cost is counted
