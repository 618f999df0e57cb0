"""Updates per second and CPU per update, end to end, dvbot against two bare echo bots.

    python -m bench.throughput [--updates 5000] [--users 500] [--rounds 3] [--only dvbot]

stand-in -> long polling -> (dvbot: dispatcher, per-account order and lock, state in Redis,
flow) -> reply over HTTP back to the stand-in. The peers, in the same run:
  aiogram   a bare aiogram 3 echo bot, one update at a time (bench/aiogram_echo.py)
  ptb       a bare python-telegram-bot echo bot, concurrent (256), on the aiohttp transport
            dvbot uses (bench/echo_bot.py --aiohttp)
Every bot gets the same realistic mix from `--users` registered members: 30 % free text,
20 % /help, 15 % /menu, 5 % /me, 30 % presses of a menu button, answered and edited. Each
round runs the three bots one after the other (the order rotates), each with a fresh stand-in
(bench/standin.py, its own process) and a warm-up; the figures are the median and min/max
over the rounds, and the ratios are paired (dvbot / peer within one round), so a machine
shared with other work moves both sides of a ratio together. CPU ms per update is user +
system time of the bot's process over the measured run (and, for dvbot, of its Valkey). The
run fails if any update got no reply, or more than one, or a press was not answered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.standin import TOKEN
from bot.app import make_deps
from bot.storage.connection import connect
from tests.conftest import UNITS, free_port, make_member, start_valkey

FIRST_USER = 700_000
MIX = {"text:Cho tôi hỏi về tài liệu học tập tháng này": 30, "/help": 20, "/menu": 15,
       "/me": 5, "press:menu": 30}
PEERS = {
    "aiogram": [sys.executable, "-m", "bench.aiogram_echo"],
    "ptb": [sys.executable, "-m", "bench.echo_bot", "--concurrent", "256", "--aiohttp"],
}
TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    """One measured run of one bot."""

    rate: float  # updates answered per second
    cpu_ms: float  # CPU ms of the bot process per update
    redis_ms: float  # CPU ms of Valkey per update (dvbot only)
    standin_ms: float  # CPU ms of the stand-in per update (if it nears 1 / rate, it limits)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


async def _call(http: aiohttp.ClientSession, api: str, method: str, **params: object) -> dict:
    async with http.post(f"{api}/bot{TOKEN}/{method}", json=params) as resp:
        body = await resp.json()
        return dict(body["result"])


async def _wait_port(http: aiohttp.ClientSession, api: str) -> None:
    for _ in range(200):
        try:
            await _call(http, api, "benchStats")
            return
        except aiohttp.ClientError:
            await asyncio.sleep(0.05)
    raise RuntimeError("stand-in did not start")


def expected(count: int, users: int) -> Counter[str]:
    """Replies each chat must get: one per update it sent."""
    return Counter(str(FIRST_USER + n % users) for n in range(count))


async def _batch(http: aiohttp.ClientSession, api: str, count: int, users: int,
                 seed: int, pids: tuple[int, int | None, int],
                 bot: subprocess.Popen[bytes]) -> tuple[float, ...]:
    """Queue `count` mixed updates; wait for every reply; check them; return seconds and the
    CPU seconds of the bot, Valkey and the stand-in."""
    since = int((await _call(http, api, "benchReplies", since=10**9))["calls"])
    bot_cpu = cpu_seconds(pids[0])
    redis_cpu = cpu_seconds(pids[1]) if pids[1] else 0.0
    standin_cpu = cpu_seconds(pids[2])
    queued = await _call(http, api, "benchMix", count=count, users=users, first=FIRST_USER,
                         mix=MIX, seed=seed)
    started = time.time()
    deadline = started + 300
    while True:
        seen = await _call(http, api, "benchReplies", since=since)
        if sum(seen["replies"].values()) >= count:
            break
        if time.time() > deadline or bot.poll() is not None:
            raise RuntimeError(f"only {sum(seen['replies'].values())} of {count} answered"
                               + (f" (the bot exited with {bot.returncode})"
                                  if bot.returncode is not None else ""))
        await asyncio.sleep(0.02)
    bot_cpu = cpu_seconds(pids[0]) - bot_cpu
    redis_cpu = (cpu_seconds(pids[1]) - redis_cpu) if pids[1] else 0.0
    standin_cpu = cpu_seconds(pids[2]) - standin_cpu
    await asyncio.sleep(0.5)  # a second reply to some update would show up by now
    seen = await _call(http, api, "benchReplies", since=since)
    _check(seen, expected(count, users), int(queued["kinds"].get("press:menu", 0)))
    return float(seen["last"]) - started, bot_cpu, redis_cpu, standin_cpu


def _check(seen: dict, want: Counter[str], presses: int) -> None:
    """Exactly one reply per update, every press answered, no failed call."""
    got = Counter({chat: int(n) for chat, n in seen["replies"].items()})
    if got != want:
        wrong = {c: (got[c], want[c]) for c in set(got) | set(want) if got[c] != want[c]}
        sample = dict(list(wrong.items())[:5])
        raise RuntimeError(f"replies per chat (got, wanted) differ: {sample}")
    if seen["answers"] != presses:
        raise RuntimeError(f"{seen['answers']} callback answers for {presses} presses")
    if seen["failed"]:
        raise RuntimeError(f"failed Bot API calls: {seen['failed']}")


async def measure(argv: list[str], env: dict[str, str], updates: int, users: int,
                  redis_pid: int | None) -> Run:
    """Start a stand-in and the bot `argv`; warm up; measure one batch."""
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    standin = subprocess.Popen([sys.executable, "-m", "bench.standin", "--port", str(port)],  # noqa: ASYNC220, S603
                               stdout=subprocess.DEVNULL)
    peer = argv[0] == sys.executable
    bot = None
    with tempfile.TemporaryFile() as log:
        try:
            async with aiohttp.ClientSession() as http:
                await _wait_port(http, api)
                # dvbot logs at INFO how its lock releases were batched (once, on stopping).
                bot = subprocess.Popen([*argv, "--api", api, "--token", TOKEN] if peer else argv,  # noqa: ASYNC220, S603
                                       env={**env, "DVBOT_TELEGRAM_API_URL": api,
                                            "DVBOT_TELEGRAM_TOKEN": TOKEN,
                                            "DVBOT_LOG_LEVEL": "WARNING" if peer else "INFO"},
                                       stdout=subprocess.DEVNULL, stderr=log)
                await _batch(http, api, min(500, updates // 5), users, 7,
                             (bot.pid, None, standin.pid), bot)
                seconds, *cpu = await _batch(http, api, updates, users, 1,
                                             (bot.pid, redis_pid, standin.pid), bot)
                run = Run(updates / seconds, *(c * 1000 / updates for c in cpu))
        except RuntimeError:
            log.seek(0)
            print("  the bot's log ends:", log.read()[-600:].decode(errors="replace"))
            raise
        finally:
            for process in (bot, standin):
                if process is not None:
                    process.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
                    process.wait(30)
        log.seek(0)
        text = log.read()
        batched = re.findall(rb"lock releases so far: (\d+) in (\d+) batches", text)
    if not peer and not batched:
        print("  dvbot's log ends:", text[-600:].decode(errors="replace"))
    if batched:
        released, batches = map(int, batched[-1])
        print(f"  dvbot sent {released:,} lock releases in {batches:,} round trips "
              f"({released / batches:.1f} per trip)")
    return run


async def seed(url: str, users: int) -> None:
    """Register the members that will send updates."""
    from bot.settings import Settings
    redis = connect(url)
    settings = Settings(_env_file=None, redis_url=url)  # type: ignore[call-arg]
    deps = make_deps(settings, redis)
    await deps.units.import_units(UNITS)
    for n in range(users):
        await make_member(deps, user_id=str(FIRST_USER + n), unit="cb-a1", name=f"Thành viên {n}")
    await redis.aclose()


def spread(values: list[float], fmt: str) -> str:
    """'median (min–max)'."""
    return (f"{format(statistics.median(values), fmt)} "
            f"({format(min(values), fmt)}–{format(max(values), fmt)})")


def report(runs: dict[str, list[Run]]) -> None:
    """Print each bot's figures and the paired ratios."""
    print(f"{'bot':<9}{'updates/s median (min–max)':>30}{'CPU ms/update':>26}")
    for name, measured in runs.items():
        print(f"{name:<9}{spread([r.rate for r in measured], '.0f'):>30}"
              f"{spread([r.cpu_ms for r in measured], '.3f'):>26}")
    if "dvbot" in runs:
        print(f"Valkey CPU ms per dvbot update: "
              f"{spread([r.redis_ms for r in runs['dvbot']], '.3f')}")
        for peer, goal in (("aiogram", 1.25), ("ptb", 0.5)):
            if peer in runs:
                ratios = [d.rate / p.rate for d, p in zip(runs["dvbot"], runs[peer], strict=True)]
                verdict = "met" if statistics.median(ratios) >= goal else "MISSED"
                print(f"dvbot / {peer:<8} paired: {spread(ratios, '.2f')}   "
                      f"(goal >= {goal}: {verdict})")


async def main() -> None:
    """Measure dvbot and its peers, paired, over several rounds."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", action="append", choices=["dvbot", *PEERS])
    parser.add_argument("--profile", metavar="FILE",
                        help="run dvbot under py-spy, writing collapsed stacks to FILE "
                             "(CPU figures of that run are then py-spy's, not dvbot's)")
    args = parser.parse_args()
    names = args.only or ["dvbot", *PEERS]
    print(f"load average before: {os.getloadavg()}  ({os.cpu_count()} CPUs)")
    runs: dict[str, list[Run]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        valkey = start_valkey(Path(tmp), port)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            await seed(url, args.users)
            env = {k: v for k, v in os.environ.items() if not k.startswith("DVBOT_")}
            # Every process on a shared Redis needs the same sealing secret.
            env.update(DVBOT_REDIS_URL=url, DVBOT_DATA_DIR=tmp, DVBOT_LOG_LEVEL="WARNING",
                       DVBOT_SURVEY_SECRET=secrets.token_hex(32),
                       DVBOT_HTTP_PORT=str(free_port()), DVBOT_HTTP_HOST="127.0.0.1")
            argv = {"dvbot": [str(Path(sys.executable).with_name("dvbot")), "run"], **PEERS}
            if args.profile:
                argv["dvbot"] = [str(Path(sys.executable).with_name("py-spy")), "record",
                                 "--format", "raw", "--rate", "500", "--output", args.profile,
                                 "--", *argv["dvbot"]]
            for round_ in range(args.rounds):
                order = names[round_ % len(names):] + names[:round_ % len(names)]
                for name in order:
                    run = await measure(argv[name], env, args.updates, args.users,
                                        valkey.pid if name == "dvbot" else None)
                    runs[name].append(run)
                    print(f"round {round_ + 1} {name:<8} {run.rate:7.0f} updates/s  "
                          f"{run.cpu_ms:.3f} CPU ms/update (stand-in {run.standin_ms:.3f})",
                          flush=True)
        finally:
            valkey.terminate()
            valkey.wait(10)
    print(f"load average after: {os.getloadavg()}")
    print(f"{args.updates:,} updates from {args.users} users per run, {args.rounds} rounds")
    report(runs)


if __name__ == "__main__":
    asyncio.run(main())
