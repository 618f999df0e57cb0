"""The Bot API stand-in of the test suite, as a separate process for benchmarks.

    python -m bench.standin --port 8081 --rate 25 [--per-chat 1] [--p429 0.01 --p5xx 0.02]

Enforces the rate like Telegram (429 with retry_after above it) and can inject random 429s
and 5xx errors. `POST /bot<token>/benchStats` answers what it saw: successful sends per chat,
429s caused by exceeding the rate, injected faults, and send timing.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from bisect import bisect_left
from collections import Counter

from tests.standin.botapi import BotApiStandin, JsonDict

TOKEN = "5550999:BENCHtoken-for-dvbot-broadcasts"  # noqa: S105 - a fake token
SENDS = ("sendmessage", "sendphoto", "senddocument")


class BenchStandin(BotApiStandin):
    """The test stand-in plus a statistics method."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN, username="dvbot_bench_bot")
        self._handlers["benchstats"] = self._bench_stats
        self._handlers["benchqueue"] = self._bench_queue  # issue 8: bench/throughput.py

    async def _bench_stats(self, p: JsonDict) -> JsonDict:
        ok = [c for c in self.calls if c.method.lower() in SENDS and c.status == 200]
        times = sorted(c.time for c in ok)
        per_chat = Counter(str(c.params.get("chat_id")) for c in ok)
        failures = Counter(str(c.status) for c in self.failures)
        return {"ok": len(ok), "first": times[0] if times else 0.0,
                "last": times[-1] if times else 0.0, "max_1s": _max_window(times, 1.0),
                "rate_429": len(self.rate_limited), "injected": dict(failures),
                "chats": dict(per_chat), "getme": len(self.calls_of("getMe"))}


    async def _bench_queue(self, p: JsonDict) -> JsonDict:
        """Queue `count` text updates spread over the users `first`..`first + users - 1`."""
        count, users, first = int(p["count"]), int(p["users"]), int(p["first"])
        for n in range(count):
            self.updates.append(self.make_message_update(first + n % users, str(p["text"])))
        self._notify()
        return {"queued": count}


def _max_window(times: list[float], width: float) -> int:
    """Most sends in any window [t, t + width)."""
    best = 0
    for index, start in enumerate(times):
        best = max(best, bisect_left(times, start + width) - index)
    return best


async def main() -> None:
    """Serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--burst", type=float)
    parser.add_argument("--per-chat", type=float, default=1.0)
    parser.add_argument("--p429", type=float, default=0.0)
    parser.add_argument("--p5xx", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    standin = BenchStandin()
    if args.rate:
        standin.enforce_rate(args.rate, burst=args.burst, per_chat_seconds=args.per_chat)
    if args.p429 or args.p5xx:
        standin.inject_random_faults(args.p429, args.p5xx, seed=args.seed)
    await _serve(standin, args.port)


async def _serve(standin: BenchStandin, port: int) -> None:
    from aiohttp import web

    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/bot{token}/{method}", standin._handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"stand-in listening on {port}", flush=True)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
