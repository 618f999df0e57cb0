"""11,000 members answer a 5-question survey concurrently through the real dispatcher (every
press and the typed answer, each under the member's lock) against a real Valkey; prints
answers/second and proves every counter is exact (no lost or double-counted answer)."""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.survey_common import CHAT_BASE, SPEC, answers_of, populate
from bot.deps import Links, build_deps
from bot.engine.actions import act
from bot.engine.dispatcher import Dispatcher
from bot.engine.messages import Incoming
from bot.settings import Settings
from bot.storage.connection import open_store
from bot.storage.keys import Keys
from handlers import build_router


async def answer(dispatcher: Dispatcher, sid: str, n: int) -> None:
    """One member's whole conversation: open, 4 presses (+ ticks), typed text, submit."""
    user = str(CHAT_BASE + n)
    scale, single, multi, club, text = answers_of(n)

    async def press(*args: str) -> None:
        await dispatcher.handle(Incoming("telegram", user, user, action=act(*args)))

    await press("sv.go", sid)
    await press("sv.a", sid, "0", str(scale))
    await press("sv.a", sid, "1", str(single))
    for option in multi:  # type: ignore[attr-defined]
        await press("sv.t", sid, "2", str(option))
    await press("sv.n", sid, "2")
    await press("sv.a", sid, "3", str(club))
    await dispatcher.handle(Incoming("telegram", user, user, text=str(text)))
    await press("sv.ok", sid)


async def run(members: int, concurrency: int, folder: Path) -> None:
    """Populate, open, answer concurrently, verify."""
    url = os.environ.get("DVBOT_REDIS_URL")
    settings = Settings(_env_file=None, redis_url=url, data_dir=folder)  # type: ignore[call-arg]
    async with open_store(settings) as redis:
        await redis.flushdb()
        keys = Keys("dvbench")
        deps = build_deps(settings, redis, keys, Links())
        await populate(redis, keys, members)
        now = datetime.now(UTC)
        survey = await deps.surveys.open(SPEC, unit="khoi", author_name="Bench",
                                         tree=await deps.units.tree(), now=now,
                                         closes_at=now + timedelta(days=1))
        dispatcher = Dispatcher(build_router(), deps)
        gate = asyncio.Semaphore(concurrency)

        async def one(n: int) -> None:
            async with gate:
                await answer(dispatcher, survey.id, n)

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(1, members + 1)))
        elapsed = time.perf_counter() - started
        updates = sum(7 + len(answers_of(n)[2]) for n in range(1, members + 1))  # type: ignore[arg-type]
        print(f"{members} members answered in {elapsed:.1f} s: {members / elapsed:.0f} answers/s "
              f"({updates / elapsed:.0f} dispatcher updates/s, concurrency {concurrency})")
        # Anonymous answer sets are counted k at a time: closing counts the last few.
        await deps.surveys.close(survey, datetime.now(UTC))
        await verify(deps.surveys.tally, deps.surveys.text_count, survey.id, members)


async def verify(tally_of: object, text_count: object, sid: str, members: int) -> None:
    """Every counter equals what the deterministic answers imply."""
    expected: Counter[str] = Counter()
    for n in range(1, members + 1):
        scale, single, multi, club, _text = answers_of(n)
        expected.update([f"0|{scale}", f"1|{single}", f"3|{club}", "4|t"])
        expected.update(f"2|{o}" for o in multi)  # type: ignore[attr-defined]
    tally: dict[str, int] = await tally_of(sid)  # type: ignore[operator]
    got: Counter[str] = Counter()
    answered = 0
    for field, value in tally.items():
        head, _, rest = field.partition("|")
        if head == "n":
            answered += value
        elif head != "a":
            got[rest] += value
    texts: int = await text_count(sid, 4)  # type: ignore[operator]
    ok = answered == members and got == expected and texts == members
    print(f"answers recorded {answered}/{members}, free texts {texts}, every counter exact: "
          f"{'YES' if ok else 'NO'}")
    if not ok:
        raise SystemExit(1)


def main() -> None:
    """Parse arguments and run on a private embedded Valkey (or DVBOT_REDIS_URL, flushed)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=11_000)
    # Within the client's connection pool: redis-py 8's asyncio pool holds 100 connections by
    # default and raises MaxConnectionsError beyond that instead of waiting.
    parser.add_argument("--concurrency", type=int, default=90)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        asyncio.run(run(args.members, args.concurrency, Path(scratch)))


if __name__ == "__main__":
    main()
