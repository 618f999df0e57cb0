"""The scale curve: what grows with the province, measured at 1x, 3x and 10x a Khối.

    python -m bench.scale [--factors 1 3 10] [--runs 30] [--responses]

At factor f: f x 83 đảng bộ cơ sở, f x 315 chi bộ, f x 11,000 members (62 % of whom studied
the directive), a 5-question survey answered by every member (with --responses; recording
110,000 answers takes minutes), and f x 2,000 library documents. Printed per factor, p50 /
p95 / max in ms of:
  coverage     the coverage report of the whole Khối (counters; unit sizes as the flow
               gets them, kept per process until someone joins)
  coverage ack one more acknowledgement (its round trip included), then the report: the
               per-process subtree sums of acknowledgements are re-read
  coverage old the same, counting every unit's members on every report (before)
  not-yet      the "chưa nghiên cứu" list's first page as the flow builds it (ids + names)
  not-yet old  the same page built from every id of the Khối (how it was done before)
  survey       the survey's results text (counters, suppression, rendering)
  survey moved the same after the children hash's version moved (as after an answer is
               counted): the hash is read and weighed again (one HINCRBY included)
  search       a page of search results (the 20 queries of bench/search_bench.py)
  search all   the full ranking of every match (`SearchIndex.search`)
Targets at 10x: not-yet p95 < 50 ms, search p95 < 20 ms; coverage and survey stay flat.
Uses DVBOT_REDIS_URL if set (flushed!), else a private embedded Valkey. CPU time is shown
beside wall time: on a shared machine the wall time includes waiting for a core.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

from bench.search_bench import QUERIES, catalog
from bench.survey_common import SPEC, answers_of
from bot.deps import Deps, Links, build_deps
from bot.library.coverage import (
    coverage,
    members_by_id,
    not_acknowledged,
    not_acknowledged_page,
)
from bot.library.search import SearchIndex
from bot.org.models import Member, Unit
from bot.settings import Settings
from bot.storage.connection import open_store
from bot.storage.keys import Keys
from bot.surveys.report import gather, render

DBCS, CHI_BO, MEMBERS, DOCS, ACKED = 83, 315, 11_000, 2_000, 0.62
DOC = "25-nq-tw"


def units(factor: int) -> list[Unit]:
    """One Khối over factor x 83 đảng bộ cơ sở and factor x 315 chi bộ."""
    dbcs, chi_bo = DBCS * factor, CHI_BO * factor
    found = [Unit(id="khoi", name="Đảng bộ Khối", kind="dang_bo_khoi")]
    found += [Unit(id=f"db{i:03d}", name=f"Đảng bộ cơ sở {i:03d}", kind="dang_bo_co_so",
                   parent="khoi") for i in range(dbcs)]
    found += [Unit(id=f"cb{i:04d}", name=f"Chi bộ {i:04d}", kind="chi_bo",
                   parent=f"db{i % dbcs:03d}") for i in range(chi_bo)]
    return found


async def populate(redis: Redis, deps: Deps, factor: int) -> None:
    """Members spread over the chi bộ; 62 % of them acknowledged the directive."""
    keys = deps.keys
    await deps.units.import_units(units(factor))
    rng = random.Random(3)  # noqa: S311 - reproducible test data
    now = datetime.now(UTC)
    homes: dict[str, str] = {}
    for start in range(1, MEMBERS * factor + 1, 5000):
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(start, min(start + 5000, MEMBERS * factor + 1)):
                unit = f"cb{rng.randrange(CHI_BO * factor):04d}"
                homes[str(n)] = unit
                member = Member(id=str(n), name=f"Đảng viên {n:06d}", unit=unit, joined_at=now,
                                identities={"telegram": str(900_000_000 + n)})
                pipe.set(keys.member(member.id), member.model_dump_json())
                pipe.sadd(keys.unit_members(unit), member.id)
                pipe.zadd(keys.members_all(), {member.id: n})
            await pipe.execute()
    gate = asyncio.Semaphore(64)

    async def ack(member_id: str, unit: str) -> None:
        async with gate:
            await deps.library.ack(DOC, member_id, unit)

    await asyncio.gather(*(ack(m, u) for m, u in homes.items() if rng.random() < ACKED))


async def timed(label: str, runs: int, call: Callable[[], Awaitable[object]]) -> None:
    """Run `call` repeatedly; print wall p50 / p95 / max and CPU p95."""
    await call()  # warm connections and snapshots
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        await call()
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    wall.sort()
    cpu.sort()
    p95 = wall[max(0, int(len(wall) * 0.95) - 1)]
    cpu95 = cpu[max(0, int(len(cpu) * 0.95) - 1)]
    print(f"  {label:<12} p50 {statistics.median(wall):7.1f}  p95 {p95:7.1f}  "
          f"max {wall[-1]:7.1f} ms   (CPU p95 {cpu95:6.1f} ms)", flush=True)


async def one_factor(redis: Redis, settings: Settings, factor: int, runs: int,
                     responses: bool) -> None:
    """Populate at `factor` and print every figure."""
    await redis.flushdb()
    deps = build_deps(settings, redis, Keys("dvbench"), Links())
    started = time.perf_counter()
    await populate(redis, deps, factor)
    tree = await deps.units.tree()
    print(f"{factor}x: {MEMBERS * factor:,} members in {CHI_BO * factor:,} chi bộ, "
          f"{DOCS * factor:,} documents (set up in {time.perf_counter() - started:.0f} s; "
          f"load average {os.getloadavg()[0]:.1f})", flush=True)
    r, k, sizes = redis, deps.keys, deps.library.sizes

    async def first_page() -> None:
        page = await not_acknowledged_page(r, k, tree, DOC, "khoi", None, 0, 20, sizes)
        await members_by_id(r, k, page.ids)

    async def first_page_old() -> None:
        missing = await not_acknowledged(r, k, tree, DOC, "khoi", None)
        await members_by_id(r, k, missing[:20])

    await timed("coverage", runs, lambda: coverage(r, k, tree, DOC, "khoi", None, sizes))
    waiting = (await not_acknowledged_page(r, k, tree, DOC, "khoi", None, 0, runs + 1,
                                           sizes)).ids
    late = iter(await members_by_id(r, k, waiting))

    async def after_ack() -> None:  # one more acknowledgement, then the report: sums re-read
        member = next(late)
        await deps.library.ack(DOC, member.id, member.unit)
        await coverage(r, k, tree, DOC, "khoi", None, sizes)

    await timed("coverage ack", runs, after_ack)
    await timed("coverage old", runs, lambda: coverage(r, k, tree, DOC, "khoi", None))
    await timed("not-yet", runs, first_page)
    await timed("not-yet old", max(5, runs // 3), first_page_old)
    if responses:
        await _survey(deps, factor, runs)
    index = SearchIndex(catalog(DOCS * factor))
    queries = iter(QUERIES * (runs * 2))

    async def search_page() -> None:
        index.top(next(queries), 8)

    async def search_all() -> None:
        index.search(next(queries))

    await timed("search", runs * 2, search_page)
    await timed("search all", runs * 2, search_all)


async def _survey(deps: Deps, factor: int, runs: int) -> None:
    now = datetime.now(UTC)
    tree = await deps.units.tree()
    survey = await deps.surveys.open(SPEC, unit="khoi", author_name="Bench", tree=tree,
                                     now=now, closes_at=now + timedelta(days=1))
    gate = asyncio.Semaphore(64)

    async def one(n: int) -> None:
        async with gate:
            await deps.surveys.record(survey, str(n), answers_of(n))  # type: ignore[arg-type]

    await asyncio.gather(*(one(n) for n in range(1, MEMBERS * factor + 1)))

    async def results() -> None:
        render(await gather(deps.surveys, survey, tree), now)

    await timed("survey", runs, results)
    kids = deps.keys.survey_kids(survey.id, "khoi")

    async def moved() -> None:  # as after an answer is counted: the children hash re-read
        await deps.redis.hincrby(kids, "v", 1)
        await results()

    await timed("survey moved", runs, moved)


async def main() -> None:
    """Each factor in turn on one store."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 3, 10])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--responses", action="store_true",
                        help="also record a survey answer per member and time its results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = os.environ.get("DVBOT_REDIS_URL")
        settings = Settings(_env_file=None, redis_url=url, data_dir=Path(scratch))  # type: ignore[call-arg]
        async with open_store(settings) as redis:
            for factor in args.factors:
                await one_factor(redis, settings, factor, args.runs, args.responses)


if __name__ == "__main__":
    asyncio.run(main())
