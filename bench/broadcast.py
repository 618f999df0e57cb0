"""Broadcast benchmark: one broadcast to N members through `dvbot worker` processes, against
a local Bot API stand-in (bench/standin.py) that enforces the rate and answers 429 above it.

    python -m bench.broadcast --recipients 11000 --rate 25 --workers 1
    python -m bench.broadcast --recipients 11000 --rate 25 --workers 3
    python -m bench.broadcast --recipients 11000 --rate 200 --workers 3 --p429 0.01 --p5xx 0.02
    python -m bench.broadcast --recipients 3000 --rate 100 --workers 3 --kill 0.5

Prints the achieved rate against the configured one, 429s caused by our own overshoot (the
stand-in's rate check, apart from injected faults), recipients served twice or never, and the
RSS of each sender process over the run. Everything runs on this machine: a private Valkey,
the stand-in and the workers are separate processes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from bench.standin import TOKEN
from bot.broadcasts.service import Broadcast
from bot.org.models import Grant, Member, Role, Unit
from bot.settings import Settings
from bot.storage.connection import connect
from bot.storage.embedded import valkey_binary
from bot.storage.keys import Keys

ROOT = Path(__file__).resolve().parent.parent
DVBOT = str(Path(sys.executable).with_name("dvbot"))
BASE_CHAT = 10_000_000


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def wait_port(port: int, timeout: float = 15.0) -> None:  # noqa: ASYNC109
    """Until something listens on `port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


async def seed(redis: Redis, keys: Keys, recipients: int) -> Member:
    """A Khối with 83 đảng bộ cơ sở of ~4 chi bộ each; `recipients` members with Telegram
    accounts spread over the chi bộ; the author is a Khối cadre outside the target subtree."""
    units = [Unit(id="khoi", name="Đảng bộ Khối (bench)", kind="dang_bo_khoi"),
             Unit(id="dv", name="Các đảng bộ cơ sở", kind="khac", parent="khoi")]
    for d in range(83):
        units.append(Unit(id=f"d{d}", name=f"Đảng bộ cơ sở {d}", kind="dang_bo_co_so",
                          parent="dv"))
        units += [Unit(id=f"d{d}c{c}", name=f"Chi bộ {d}.{c}", kind="chi_bo",
                       parent=f"d{d}") for c in range(4)]
    now = datetime.now(UTC)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hset(keys.units(), mapping={u.id: u.model_dump_json() for u in units})
        pipe.incr(keys.units_version())
        author = Member(id="1", name="Cán bộ Bench", unit="khoi", joined_at=now,
                        grants=[Grant(role=Role.CADRE, unit="khoi")],
                        identities={"telegram": str(BASE_CHAT)})
        for n in range(recipients + 1):
            member = author if n == 0 else Member(
                id=str(n + 1), name=f"Đảng viên {n}", unit=f"d{n % 83}c{n % 4}",
                joined_at=now, identities={"telegram": str(BASE_CHAT + n)})
            pipe.set(keys.member(member.id), member.model_dump_json())
            pipe.set(keys.identity("telegram", str(BASE_CHAT + n)), member.id)
            pipe.sadd(keys.unit_members(member.unit), member.id)
            pipe.zadd(keys.members_all(), {member.id: now.timestamp()})
        pipe.set(keys.member_seq(), recipients + 1)
        await pipe.execute()
    return author


class Run:
    """The processes of one benchmark run."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.valkey_port, self.api_port = free_port(), free_port()
        self.processes: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []

    def env(self) -> dict[str, str]:
        """Settings of the worker processes."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DVBOT_")}
        env.update(DVBOT_TELEGRAM_TOKEN=TOKEN,
                   DVBOT_TELEGRAM_API_URL=f"http://127.0.0.1:{self.api_port}",
                   DVBOT_REDIS_URL=f"redis://127.0.0.1:{self.valkey_port}/0",
                   DVBOT_TELEGRAM_RATE=str(self.args.rate), DVBOT_LOG_LEVEL="WARNING",
                   DVBOT_SENDER_WORKERS=str(self.args.concurrency),
                   DVBOT_SENDER_LEASE_SECONDS=str(self.args.lease),
                   DVBOT_DATA_DIR=str(self.workdir / "data"))
        return env

    async def start(self) -> None:
        """Valkey, the stand-in, the workers."""
        self.processes.append(subprocess.Popen(  # noqa: ASYNC220, S603 - set-up, not timed
            [str(valkey_binary()), "--port", str(self.valkey_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL))
        a = self.args
        self.processes.append(subprocess.Popen(  # noqa: ASYNC220, S603
            [sys.executable, "-m", "bench.standin", "--port", str(self.api_port),
             "--rate", str(a.standin_rate or a.rate), "--p429", str(a.p429),
             "--p5xx", str(a.p5xx)], cwd=ROOT, stdout=subprocess.DEVNULL))
        await wait_port(self.valkey_port)
        await wait_port(self.api_port)
        for _ in range(a.workers):
            self.spawn_worker()

    def spawn_worker(self) -> subprocess.Popen[bytes]:
        """One more `dvbot worker`."""
        process = subprocess.Popen([DVBOT, "worker"], env=self.env(), cwd=self.workdir)  # noqa: S603
        self.workers.append(process)
        return process

    def stop(self) -> None:
        """Everything down."""
        for process in [*self.workers, *self.processes]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.workers, *self.processes]:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(15)

    async def api(self, method: str) -> Any:
        """Call the stand-in."""
        async with aiohttp.ClientSession() as http, http.post(
                f"http://127.0.0.1:{self.api_port}/bot{TOKEN}/{method}") as resp:
            return (await resp.json())["result"]


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """One run; returns the figures."""
    with tempfile.TemporaryDirectory(prefix="dvbot-bench-") as tmp:
        run = Run(args, Path(tmp))
        try:
            await run.start()
            return await measure(run, args)
        finally:
            run.stop()


async def measure(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    """Seed, wait for the workers, broadcast, watch, collect."""
    redis = connect(f"redis://127.0.0.1:{run.valkey_port}/0")
    keys = Keys("dv")
    author = await seed(redis, keys, args.recipients)
    while (await run.api("benchStats"))["getme"] < args.workers:  # noqa: ASYNC110 - polls HTTP
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # let them settle before the first memory reading
    rss = {p.pid: [rss_mb(p.pid)] for p in run.workers}
    progress: dict[int, list[int]] = {p.pid: [0] for p in run.workers}
    from bot.app import make_deps

    deps = make_deps(Settings(_env_file=None, redis_url=run.env()["DVBOT_REDIS_URL"]), redis)  # type: ignore[call-arg]
    now = datetime.now(UTC)
    started = time.time()
    await deps.broadcasts.create(Broadcast(author=author.id, author_name=author.name,
                                           unit="dv", text="Thông báo thử tải", at=now,
                                           created_at=now))
    killed = False
    while (stats := await deps.outbox.stats("bc-1")).state != "done":
        await asyncio.sleep(2)
        tally = stats.overall
        for p in run.workers:
            if p.poll() is None:
                rss.setdefault(p.pid, []).append(rss_mb(p.pid))
                progress.setdefault(p.pid, []).append(tally.sent)
        print(f"  {time.time() - started:6.1f} s  sent {tally.sent}/{tally.total}  "
              f"failed {tally.failed} blocked {tally.blocked}", flush=True)
        if args.kill and not killed and tally.sent >= args.kill * args.recipients:
            killed = True
            victim = run.workers[0]
            victim.send_signal(signal.SIGTERM if args.graceful else signal.SIGKILL)
            victim.wait(20)
            print(f"  killed worker {victim.pid} ({'SIGTERM' if args.graceful else 'SIGKILL'})"
                  "; starting a new one", flush=True)
            run.spawn_worker()
    elapsed = time.time() - started
    final = await run.api("benchStats")
    await redis.aclose()
    return summarize(args, final, stats.overall.sent, elapsed, rss, progress, started)


def summarize(args: argparse.Namespace, final: dict[str, Any], sent: int, elapsed: float,
              rss: dict[int, list[float]], progress: dict[int, list[int]],
              started: float) -> dict[str, Any]:
    """The figures of a run."""
    chats = {int(k): v for k, v in final["chats"].items() if int(k) != BASE_CHAT}
    expected = range(BASE_CHAT + 1, BASE_CHAT + args.recipients + 1)
    duplicates = sum(1 for c in expected if chats.get(c, 0) > 1)
    missing = sum(1 for c in expected if chats.get(c, 0) == 0)
    span = final["last"] - final["first"]
    achieved = (final["ok"] - 1) / span if span > 0 else 0.0
    return {
        "recipients": args.recipients, "workers": args.workers, "rate": args.rate,
        "achieved_rate": round(achieved, 2), "achieved_pct": round(100 * achieved / args.rate, 1),
        "first_send_after_s": round(final["first"] - started, 2), "wall_s": round(elapsed, 1),
        "max_sends_in_1s": final["max_1s"], "rate_429_overshoot": final["rate_429"],
        "injected": final["injected"], "recorded_sent": sent, "duplicates": duplicates,
        "missing": missing,
        "rss_mb": {str(pid): memory(v, progress[pid], args.recipients)
                   for pid, v in rss.items()},
    }


def memory(samples: list[float], sent: list[int], total: int) -> dict[str, float]:
    """RSS (MB) of one sender: idle before the broadcast, then when 10 %, 50 % and 90 % of the
    recipients had been served, at the end, and the highest reading."""
    def at(share: float) -> float:
        index = next((i for i, n in enumerate(sent) if n >= share * total), len(sent) - 1)
        return round(samples[index], 1)

    return {"idle": round(samples[0], 1), "at_10pct": at(0.1), "at_50pct": at(0.5),
            "at_90pct": at(0.9), "end": round(samples[-1], 1), "max": round(max(samples), 1)}


def main() -> None:
    """Parse arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=11_000)
    parser.add_argument("--rate", type=float, default=25.0, help="DVBOT_TELEGRAM_RATE")
    parser.add_argument("--standin-rate", type=float, default=0.0,
                        help="rate the stand-in enforces (default: --rate)")
    parser.add_argument("--workers", type=int, default=1, help="sender processes")
    parser.add_argument("--concurrency", type=int, default=4, help="DVBOT_SENDER_WORKERS")
    parser.add_argument("--lease", type=float, default=5.0, help="DVBOT_SENDER_LEASE_SECONDS")
    parser.add_argument("--p429", type=float, default=0.0, help="injected 429 share")
    parser.add_argument("--p5xx", type=float, default=0.0, help="injected 5xx share")
    parser.add_argument("--kill", type=float, default=0.0,
                        help="kill worker 1 when this share is sent, then start a new one")
    parser.add_argument("--graceful", action="store_true", help="--kill with SIGTERM")
    args = parser.parse_args()
    print(f"broadcast to {args.recipients} recipients at {args.rate}/s with "
          f"{args.workers} worker process(es)", flush=True)
    print(json.dumps(asyncio.run(bench(args)), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
