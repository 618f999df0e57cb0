"""The web dashboard at the scale of a Khối, measured over HTTP: 11,000 members in 315 chi bộ,
20 directives (about 62 % studied), 100,000 survey responses (10 surveys) and 10,000 proposals.
Every page is fetched by the Khối-level cadre (also a reviewer) and timed; target p95 < 150 ms.

Run: python -m bench.dashboard_bench [--runs 40]  (a private embedded Valkey in a temp folder)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from bench.coverage_bench import CHI_BO, units
from bench.survey_common import SPEC, answers_of
from bot.deps import Deps, Links, build_deps
from bot.library.importer import import_library
from bot.library.loader import load_library
from bot.org.models import Grant, Member, Role
from bot.proposals.models import Area, Content
from bot.settings import Settings
from bot.storage.connection import open_store
from bot.storage.keys import Keys
from bot.web.routes import add_dashboard
from bot.web.sessions import WebSessions

MEMBERS, DIRECTIVES, SURVEYS, PER_SURVEY, PROPOSALS = 11_000, 20, 10, 10_000, 10_000
TARGET_MS = 150


def directive_file(n: int) -> str:
    """A directive for everyone."""
    return (f"---\nso_hieu: {n + 1}-NQ/ĐU\nissuer: Ban Thường vụ Đảng ủy Khối\n"
            f"issued: 2026-0{1 + n % 9}-1{n % 9}\ntitle: Nghị quyết thử nghiệm số {n + 1} về "
            "công tác dân vận\nsummary: Tóm tắt đủ dài của văn bản thử nghiệm.\n"
            "key_points: [Ý thứ nhất, Ý thứ hai]\n---\nNội dung.\n")


async def populate(deps: Deps, folder: Path) -> Member:
    """The whole Khối; returns the Khối cadre."""
    redis, keys, rng = deps.redis, deps.keys, random.Random(16)  # noqa: S311
    await deps.units.import_units(units())
    now = datetime.now(UTC)
    async with redis.pipeline(transaction=False) as pipe:
        for n in range(1, MEMBERS + 1):
            unit = f"cb{rng.randrange(CHI_BO):03d}"
            member = Member(id=str(n), name=f"Đảng viên {n:05d}", unit=unit, joined_at=now,
                            identities={"telegram": str(900_000_000 + n)})
            pipe.set(keys.member(member.id), member.model_dump_json())
            pipe.set(keys.identity("telegram", str(900_000_000 + n)), member.id)
            pipe.sadd(keys.unit_members(unit), member.id)
            pipe.zadd(keys.members_all(), {member.id: n})
        await pipe.execute()
    cadre = await deps.members.register(channel="telegram", user_id="1", name="Cán bộ Khối",
                                        unit="khoi", grants=[Grant(role=Role.CADRE, unit="khoi"),
                                                             Grant(role=Role.REVIEWER,
                                                                   unit="khoi")], now=now)
    content = folder / "content"
    (content / "directives").mkdir(parents=True)
    for n in range(DIRECTIVES):
        (content / "directives" / f"{n + 1}-nq-du.md").write_text(directive_file(n))
    await import_library(deps.library, load_library(content), await deps.units.tree(), now)
    gate = asyncio.Semaphore(64)

    async def ack(doc: str, member: int) -> None:
        async with gate:
            unit = (await deps.members.get(str(member)))
            assert unit is not None
            await deps.library.ack(doc, unit.id, unit.unit)

    for n in range(DIRECTIVES):
        chosen = [m for m in range(1, MEMBERS + 1) if rng.random() < 0.62]
        await asyncio.gather(*(ack(f"{n + 1}-nq-du", m) for m in chosen))
    tree = await deps.units.tree()
    for s in range(SURVEYS):
        survey = await deps.surveys.open(SPEC, unit="khoi", author_name="Cán bộ Khối", tree=tree,
                                         now=now, closes_at=now + timedelta(days=7))

        async def answer(member: int, survey_id: str = survey.id) -> None:
            async with gate:
                found = await deps.surveys.get(survey_id)
                assert found is not None
                await deps.surveys.record(found, str(member), answers_of(member))  # type: ignore[arg-type]

        await asyncio.gather(*(answer(m) for m in range(1, PER_SURVEY + 1)))
        print(f"  survey {s + 1}/{SURVEYS}: {PER_SURVEY:,} responses", flush=True)
    authors = await deps.members.many([str(n) for n in range(1, PROPOSALS + 1)])

    async def propose(author: Member) -> None:
        async with gate:
            await deps.proposals.submit(author, Content(
                name=f"Mô hình của {author.name}", area=Area.ECONOMY, unit=author.unit,
                executor="Chi bộ và Đoàn thanh niên", method="Cách làm " * 5,
                results="Hiệu quả " * 5), tree, now)

    await asyncio.gather(*(propose(a) for a in authors))
    return cadre


async def measure(base: str, cookie: str, path: str, runs: int) -> list[float]:
    """Times of `runs` GETs of one page (after one warm-up)."""
    timings = []
    async with aiohttp.ClientSession(cookies={"dvbot_phien": cookie}) as client:
        for n in range(runs + 1):
            started = time.perf_counter()
            async with client.get(base + path, allow_redirects=False) as reply:
                await reply.read()
                assert reply.status == 200, (path, reply.status)
            if n:
                timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)


async def run(runs: int, folder: Path) -> None:
    """Populate (unless `folder` already holds a populated store), serve the dashboard on
    loopback, fetch every page."""
    settings = Settings(_env_file=None, data_dir=folder)  # type: ignore[call-arg]
    async with open_store(settings) as redis:
        deps = build_deps(settings, redis, Keys("dv"), Links())
        cadre = await deps.members.by_account("telegram", "1")
        if cadre is None:
            started = time.perf_counter()
            cadre = await populate(deps, folder)
            print(f"populated in {time.perf_counter() - started:.0f} s")
        app = web.Application()
        add_dashboard(app, deps)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        sid, _ = await WebSessions(redis, deps.keys).open(cadre.id)
        survey_id = (await deps.surveys.recent_ids(1))[0]
        survey = await deps.surveys.get(survey_id)
        assert survey is not None
        if survey.is_open(datetime.now(UTC)):
            # Anonymous results open only at closing: close one to time its results page.
            await deps.surveys.close(survey, datetime.now(UTC))
        code = (await deps.proposals.store.all_codes())[0]
        pages = ["/web/", "/web/van-ban", "/web/van-ban?don-vi=db00", "/web/van-ban/01-nq-du/khoi",
                 "/web/khao-sat", f"/web/khao-sat/{survey_id}", "/web/de-xuat",
                 f"/web/de-xuat/{code}", "/web/dang-vien?don-vi=khoi", "/web/ma-moi",
                 "/web/thong-bao"]
        worst = 0.0
        for path in pages:
            times = await measure(f"http://127.0.0.1:{port}", sid, path, runs)
            p95 = times[max(0, int(len(times) * 0.95) - 1)]
            worst = max(worst, p95)
            print(f"{path:32} p50 {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms  "
                  f"max {times[-1]:6.1f} ms")
        print(f"worst p95 {worst:.1f} ms (target < {TARGET_MS} ms): "
              f"{'met' if worst < TARGET_MS else 'MISSED'}")
        await runner.cleanup()


def main() -> None:
    """Parse arguments and run on a private embedded Valkey."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--keep", type=Path, help="data folder kept between runs (populated once)")
    args = parser.parse_args()
    if args.keep:
        asyncio.run(run(args.runs, args.keep))
        return
    with tempfile.TemporaryDirectory() as scratch:
        asyncio.run(run(args.runs, Path(scratch)))


if __name__ == "__main__":
    main()
