"""Coverage report for one directive across a Khối of 11,000 members in 315 chi bộ
(issue 3: under 200 ms), computed from Redis sets and counters."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis

from bot.library.coverage import coverage, members_by_id, not_acknowledged
from bot.library.files import FileStore
from bot.library.store import LibraryStore
from bot.org.models import Member, Unit
from bot.org.tree import OrgTree, UnitStore
from bot.settings import Settings
from bot.storage.connection import open_store
from bot.storage.keys import Keys

DBCS, CHI_BO, MEMBERS, ACKED = 83, 315, 11_000, 0.62
DOC = "25-nq-tw"


def units() -> list[Unit]:
    """One Khối, 83 đảng bộ cơ sở, 315 chi bộ spread over them."""
    found = [Unit(id="khoi", name="Đảng bộ Khối", kind="dang_bo_khoi")]
    found += [Unit(id=f"db{i:02d}", name=f"Đảng bộ cơ sở {i:02d}", kind="dang_bo_co_so",
                   parent="khoi") for i in range(DBCS)]
    found += [Unit(id=f"cb{i:03d}", name=f"Chi bộ {i:03d}", kind="chi_bo",
                   parent=f"db{i % DBCS:02d}") for i in range(CHI_BO)]
    return found


async def populate(redis: Redis, keys: Keys, library: LibraryStore) -> None:
    """11,000 members in the chi bộ, ~62% of whom acknowledged the directive."""
    await UnitStore(redis, keys).import_units(units())
    rng = random.Random(3)  # noqa: S311 - reproducible test data
    now = datetime.now(UTC)
    async with redis.pipeline(transaction=False) as pipe:
        for n in range(1, MEMBERS + 1):
            unit = f"cb{rng.randrange(CHI_BO):03d}"
            member = Member(id=str(n), name=f"Đảng viên {n:05d}", unit=unit, joined_at=now)
            pipe.set(keys.member(member.id), member.model_dump_json())
            pipe.sadd(keys.unit_members(unit), member.id)
            pipe.zadd(keys.members_all(), {member.id: n})
        await pipe.execute()
    for unit_id in [u.id for u in units() if u.kind == "chi_bo"]:
        for member_id in await redis.smembers(keys.unit_members(unit_id)):
            if rng.random() < ACKED:
                await library.ack(DOC, str(member_id), unit_id)


async def timed(label: str, runs: int, call: Callable[[], Awaitable[object]]) -> None:
    """Run `call` repeatedly and print p50 / p95 / max."""
    await call()  # warm the connection and the unit snapshot
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"{label}: p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, "
          f"max {timings[-1]:.1f} ms")


async def run(redis: Redis, folder: Path) -> None:
    """Populate, then measure the report and the "not yet" list."""
    keys = Keys("dvbench")
    library = LibraryStore(redis, keys, FileStore(folder / "files"))
    started = time.perf_counter()
    await populate(redis, keys, library)
    print(f"populated {MEMBERS} members in {CHI_BO} chi bộ under {DBCS} đảng bộ cơ sở "
          f"in {time.perf_counter() - started:.1f} s")
    tree: OrgTree = await UnitStore(redis, keys).tree()
    report = await coverage(redis, keys, tree, DOC, "khoi", None)
    print(f"report: {report.total.acked}/{report.total.members} acknowledged "
          f"({report.total.percent}%), {len(report.children)} child units")
    await timed("coverage report, whole Khối (83 child rows)", 50,
                lambda: coverage(redis, keys, tree, DOC, "khoi", None))
    await timed("coverage report, one đảng bộ cơ sở", 50,
                lambda: coverage(redis, keys, tree, DOC, "db07", None))

    async def first_page() -> None:
        missing = await not_acknowledged(redis, keys, tree, DOC, "khoi", None)
        await members_by_id(redis, keys, missing[:20])

    await timed("not-yet list, whole Khối (ids + first page of names)", 20, first_page)
    print("target: coverage report < 200 ms")


async def main() -> None:
    """Use DVBOT_REDIS_URL if given (flushed!), else a private embedded Valkey."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        url = os.environ.get("DVBOT_REDIS_URL")
        settings = Settings(_env_file=None, redis_url=url, data_dir=folder / "data")  # type: ignore[call-arg]
        async with open_store(settings) as redis:
            await redis.flushdb()
            await run(redis, folder)


if __name__ == "__main__":
    asyncio.run(main())
