"""Results of a survey with 100,000 responses over a Khối of 315 chi bộ: time to read the
counters, apply k-anonymity suppression and render the chat text (issue 4: under 50 ms)."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.survey_common import SPEC, answers_of, populate
from bot.deps import Links, build_deps
from bot.settings import Settings
from bot.storage.connection import open_store
from bot.storage.keys import Keys
from bot.surveys.report import gather, render


async def run(responses: int, runs: int, folder: Path) -> None:
    """Populate members, open, record every answer through the store's script, then time."""
    url = os.environ.get("DVBOT_REDIS_URL")
    settings = Settings(_env_file=None, redis_url=url, data_dir=folder)  # type: ignore[call-arg]
    async with open_store(settings) as redis:
        await redis.flushdb()
        keys = Keys("dvbench")
        deps = build_deps(settings, redis, keys, Links())
        started = time.perf_counter()
        await populate(redis, keys, responses)
        now = datetime.now(UTC)
        tree = await deps.units.tree()
        survey = await deps.surveys.open(SPEC, unit="khoi", author_name="Bench", tree=tree,
                                         now=now, closes_at=now + timedelta(days=1))
        gate = asyncio.Semaphore(50)

        async def one(n: int) -> None:
            async with gate:
                await deps.surveys.record(survey, str(n), answers_of(n))  # type: ignore[arg-type]

        await asyncio.gather(*(one(n) for n in range(1, responses + 1)))
        # Anonymous results are read after closing (which counts the last, fewer than k).
        survey = await deps.surveys.close(survey, datetime.now(UTC))
        print(f"set up {responses} responses in {time.perf_counter() - started:.0f} s")
        timings = []
        text = ""
        for _ in range(runs):
            started = time.perf_counter()
            text = render(await gather(deps.surveys, survey, tree), now)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(f"results text ({len(text)} characters, {text.count(chr(10)) + 1} lines): "
              f"median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, "
              f"max {timings[-1]:.1f} ms over {runs} runs")
        print("target: < 50 ms")


def main() -> None:
    """Parse arguments and run on a private embedded Valkey (or DVBOT_REDIS_URL, flushed)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        asyncio.run(run(args.responses, args.runs, Path(scratch)))


if __name__ == "__main__":
    main()
