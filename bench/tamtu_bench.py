"""Tâm tư, kiến nghị: 10,000 threads holding 30,000 messages over a Khối of 400 units, on a
private embedded Valkey (AOF on). Prints the p50/p95 of opening the queue and the month's
report as the Khối's cadre does it: a full update through the dispatcher (lock, dialog,
member, flow, reply), not just the storage calls.

    python -m bench.tamtu_bench [--threads 10000] [--posts 3] [--runs 200]

Threads are written straight through the store (as `TamtuService.submit` writes them: the
thread, its queue entry, the month's counters), since timing submissions is not the point;
two thirds are anonymous and a quarter are answered, so the queue holds ~7,500 waiting ones.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.deps import Deps, Links, build_deps
from bot.engine.dispatcher import Dispatcher
from bot.engine.messages import Incoming
from bot.org.models import Grant, Role, Unit
from bot.settings import Settings
from bot.storage.connection import open_store
from bot.storage.keys import Keys
from bot.tamtu.models import Post, State, Thread, new_code
from bot.tamtu.report import build, groups, smallest_anonymous_cell
from handlers import build_router

TODAY = date(2026, 11, 25)
TOPICS = ("cong-viec", "doi-song", "che-do", "thu-tuc", "gop-y-can-bo", "khac")


def khoi(grassroots: int = 80, branches: int = 4) -> list[Unit]:
    """A Khối with `grassroots` đảng bộ cơ sở of `branches` chi bộ each."""
    units = [Unit(id="khoi", name="Đảng bộ Khối", kind="dang_bo_khoi")]
    for g in range(grassroots):
        units.append(Unit(id=f"cs{g}", name=f"Đảng bộ cơ sở {g}", kind="dang_bo_co_so",
                          parent="khoi"))
        units += [Unit(id=f"cs{g}-cb{b}", name=f"Chi bộ {g}.{b}", kind="chi_bo",
                       parent=f"cs{g}") for b in range(branches)]
    return units


def a_thread(rng: random.Random, units: list[Unit], seq: int, posts: int) -> Thread:
    """One thread as submit would store it (the sender seal is a stand-in of its size)."""
    branch = rng.choice([u for u in units if u.kind == "chi_bo"])
    anonymous = rng.random() < 2 / 3
    day = TODAY - timedelta(days=rng.randrange(0, 28))
    answered = rng.random() < 0.25
    body = [Post(by="member" if i % 2 == 0 else "cadre", text="Nội dung tâm tư " * 12,
                 day=day, who="" if i % 2 == 0 else "Cán bộ, Chi bộ") for i in range(posts)]
    return Thread(code=new_code(), topic=rng.choice(TOPICS),
                  unit=branch.parent if anonymous and branch.parent else branch.id,
                  attributed=branch.parent if anonymous and branch.parent else branch.id,
                  anonymous=anonymous, sender="x" * 80, day=day, seq=seq, posts=body,
                  state=State.ANSWERED if answered else State.OPEN,
                  answered_day=day + timedelta(days=2) if answered else None,
                  satisfied=rng.random() < 0.7 if answered else None,
                  due=day + timedelta(days=7))


async def fill(deps: Deps, units: list[Unit], total: int, posts: int) -> None:
    """Write `total` threads with their queue entries and counters, 500 per round trip."""
    rng = random.Random(17)  # noqa: S311 - a reproducible data set, not a secret
    keys = deps.keys
    for start in range(0, total, 500):
        async with deps.redis.pipeline(transaction=False) as pipe:
            for seq in range(start, min(total, start + 500)):
                t = a_thread(rng, units, seq + 1, posts)
                pipe.set(keys.tamtu(t.code), t.model_dump_json())
                if t.state is State.OPEN:
                    pipe.zadd(keys.tamtu_queue(t.unit), {t.code: t.seq})
                cell = f"{t.attributed}|{t.topic}|{'a' if t.anonymous else 'n'}"
                pipe.hincrby(keys.tamtu_stats(t.month), f"{cell}|n", 1)
                if t.answered_day is not None:
                    pipe.hincrby(keys.tamtu_stats(t.month), f"{cell}|ans", 1)
                    pipe.hincrby(keys.tamtu_stats(t.month), f"{cell}|days", 2)
                    metric = "sat" if t.satisfied else "uns"
                    pipe.hincrby(keys.tamtu_stats(t.month), f"{cell}|{metric}", 1)
            await pipe.execute()


def pct(values: list[float], q: float) -> float:
    """The q-quantile of sorted values."""
    return values[min(len(values) - 1, int(len(values) * q))]


async def timed(dispatcher: Dispatcher, incoming: Incoming, runs: int) -> tuple[list[float], str]:
    """Milliseconds per update, sorted, and the last reply's text."""
    spent: list[float] = []
    text = ""
    for _ in range(runs):
        began = time.perf_counter()
        replies = await dispatcher.handle(incoming)
        spent.append((time.perf_counter() - began) * 1000)
        text = replies[-1].text
    return sorted(spent), text


async def run(total: int, posts: int, runs: int) -> None:
    """Fill, then time the queue and the report for the Khối's cadre."""
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(_env_file=None, data_dir=Path(scratch) / "data")  # type: ignore[call-arg]
        async with open_store(settings) as redis:
            deps = build_deps(settings, redis, Keys("dvbench"), Links())
            deps = replace(deps, clock=lambda: datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
            units = khoi()
            await deps.units.import_units(units)
            cadre = await deps.members.register(
                channel="console", user_id="cadre", name="Cán bộ Khối", unit="khoi",
                grants=[Grant(role=Role.LISTENER, unit="khoi")], now=deps.clock())
            began = time.perf_counter()
            await fill(deps, units, total, posts)
            print(f"{total:,} threads, {total * posts:,} messages written in "
                  f"{time.perf_counter() - began:.1f} s over {len(units)} units")
            dispatcher = Dispatcher(build_router(), deps)
            who = {"channel": "console", "user_id": "cadre", "chat_id": "cadre"}
            queue, shown = await timed(dispatcher, Incoming(**who, text="/tamtucanbo"), runs)
            print(f"open the queue (Khối, all {len(units)} units): p50 {pct(queue, 0.5):.1f} ms,"
                  f" p95 {pct(queue, 0.95):.1f} ms — {shown.splitlines()[1]}")
            report, _text = await timed(dispatcher, Incoming(
                **who, action="tt.rp|khoi|2026-11"), runs)
            print(f"monthly report (Khối, 2026-11): p50 {pct(report, 0.5):.1f} ms, "
                  f"p95 {pct(report, 0.95):.1f} ms")
            rows = groups(await deps.units.tree(), "khoi")
            made = build(await deps.tamtu.store.rolled_up("2026-11", rows), "khoi", "2026-11",
                         deps.tamtu.policy.k)
            smallest = smallest_anonymous_cell(made)
            assert smallest is None or smallest >= deps.tamtu.policy.k
            print(f"report rows: {len(made.by_topic)} topics, {len(made.by_unit)} units; "
                  f"smallest anonymous cell shown: {smallest} (k = {deps.tamtu.policy.k})")
            ok = pct(queue, 0.95) < 100 and pct(report, 0.95) < 100
            print("target p95 < 100 ms:", "met" if ok else "NOT met")
            _ = cadre


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=3)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.threads, args.posts, args.runs))


if __name__ == "__main__":
    main()
