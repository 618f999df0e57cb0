"""Updates per second, end to end: stand-in -> PTB (long polling) -> dispatcher -> flow ->
Redis -> reply back to the stand-in, for one `dvbot run` worker; and the same figure for a
bare PTB echo bot against the same stand-in, so the ratio shows dvbot's own overhead: once
with PTB's defaults (one update at a time) and once with `concurrent_updates(256)`, since
dvbot handles different accounts side by side (bot/channels/telegram_processor.py).

    python -m bench.throughput [--updates 3000] [--users 200] [--text /help]

Each bot runs in its own process, as does the stand-in (bench/standin.py); the bot's Redis
is a private Valkey in a temporary folder. Registered members send the text; the figure is
updates answered / seconds from the first update queued to the last answer received.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.standin import TOKEN
from bot.app import make_deps
from bot.storage.connection import connect
from tests.conftest import UNITS, free_port, make_member, start_valkey

FIRST_USER = 700_000


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


async def measure(argv: list[str], env: dict[str, str], updates: int, users: int,
                  text: str) -> float:
    """Start a stand-in and the bot `argv`; warm up; return updates/s of the measured run."""
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    standin = subprocess.Popen([sys.executable, "-m", "bench.standin", "--port", str(port)],  # noqa: ASYNC220, S603
                               stdout=subprocess.DEVNULL)
    bot = None
    try:
        async with aiohttp.ClientSession() as http:
            await _wait_port(http, api)
            bot = subprocess.Popen([*argv, "--api", api, "--token", TOKEN] if "bench.echo_bot"  # noqa: ASYNC220, S603
                                   in argv else argv,
                                   env={**env, "DVBOT_TELEGRAM_API_URL": api,
                                        "DVBOT_TELEGRAM_TOKEN": TOKEN},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            warm = min(300, updates // 5)
            done = await _run(http, api, warm, users, text, 0)
            started = time.time()
            await _run(http, api, updates, users, text, done)
            stats = await _call(http, api, "benchStats")
            return updates / (float(stats["last"]) - started)
    finally:
        for process in (bot, standin):
            if process is not None:
                process.terminate()
                process.wait(20)


async def _run(http: aiohttp.ClientSession, api: str, count: int, users: int, text: str,
               before: int) -> int:
    await _call(http, api, "benchQueue", count=count, users=users, first=FIRST_USER, text=text)
    deadline = time.time() + 300
    while time.time() < deadline:
        ok = int((await _call(http, api, "benchStats"))["ok"])
        if ok >= before + count:
            return ok
        await asyncio.sleep(0.05)
    raise RuntimeError("the bot did not answer every update in 5 minutes")


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


async def main() -> None:
    """Measure dvbot and the echo bot; print both figures and the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--text", default="/help")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        valkey = start_valkey(Path(tmp), port)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            await seed(url, args.users)
            env = {k: v for k, v in os.environ.items() if not k.startswith("DVBOT_")}
            env.update(DVBOT_REDIS_URL=url, DVBOT_DATA_DIR=tmp, DVBOT_LOG_LEVEL="WARNING",
                       DVBOT_HTTP_PORT=str(free_port()), DVBOT_HTTP_HOST="127.0.0.1")
            dvbot = str(Path(sys.executable).with_name("dvbot"))
            ours = await measure([dvbot, "run"], env, args.updates, args.users, args.text)
            echo = await measure([sys.executable, "-m", "bench.echo_bot"], env, args.updates,
                                 args.users, args.text)
            echo_conc = await measure([sys.executable, "-m", "bench.echo_bot", "--concurrent",
                                       "256"], env, args.updates, args.users, args.text)
        finally:
            valkey.terminate()
            valkey.wait(10)
    print(f"dvbot run (1 worker, {args.text!r}): {ours:8.0f} updates/s   (target >= 500)")
    print(f"bare PTB echo bot (defaults): {echo:8.0f} updates/s")
    print(f"bare PTB echo, concurrent 256:{echo_conc:8.0f} updates/s")
    print(f"dvbot / echo (defaults):      {ours / echo:8.2f}")
    print(f"dvbot / echo (concurrent):    {ours / echo_conc:8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
