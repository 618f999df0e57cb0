"""The Bot API stand-in of the test suite, as a separate process for benchmarks.

    python -m bench.standin --port 8081 --rate 25 [--per-chat 1] [--p429 0.01 --p5xx 0.02]

Enforces the rate like Telegram (429 with retry_after above it) and can inject random 429s
and 5xx errors. `POST /bot<token>/benchStats` answers what it saw: successful sends per chat,
429s caused by exceeding the rate, injected faults, and send timing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import time
from bisect import bisect_left
from collections import Counter

from tests.standin.botapi import BotApiStandin, JsonDict, SentMessage

TOKEN = "5550999:BENCHtoken-for-dvbot-broadcasts"  # noqa: S105 - a fake token
SENDS = ("sendmessage", "sendphoto", "senddocument")
REPLIES = ("sendmessage", "editmessagetext")  # what counts as answering an update
PRESSED = "Bấm nút"  # text of the message a queued button press is made on


class BenchStandin(BotApiStandin):
    """The test stand-in plus a statistics method."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN, username="dvbot_bench_bot")
        self._handlers["benchstats"] = self._bench_stats
        self._handlers["benchqueue"] = self._bench_queue
        self._handlers["benchmix"] = self._bench_mix
        self._handlers["benchreplies"] = self._bench_replies
        self._by_id: dict[tuple[int, int], SentMessage] = {}

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


    async def _bench_mix(self, p: JsonDict) -> JsonDict:
        """Queue `count` updates from `users` users, kinds drawn in the exact shares of `mix`
        ({"/help": 20, "press:menu": 30, "text:xin chào": 30...}) and shuffled with `seed`.
        A "press:<data>" is a button press on a fresh message, so every edit changes it."""
        count, users, first = int(p["count"]), int(p["users"]), int(p["first"])
        weights = {str(k): float(v) for k, v in dict(p["mix"]).items()}
        total = sum(weights.values())
        kinds = [kind for kind, w in weights.items() for _ in range(round(count * w / total))]
        kinds = (kinds + [next(iter(weights))] * count)[:count]
        random.Random(int(p.get("seed", 1))).shuffle(kinds)  # noqa: S311 - a fixed mix
        for n, kind in enumerate(kinds):
            user = first + n % users
            if kind.startswith("press:"):
                markup = {"inline_keyboard": [[{"text": "Menu", "callback_data": kind[6:]}]]}
                msg = SentMessage(user, self._next_message_id(user), PRESSED, markup, "HTML",
                                  "sendMessage", int(time.time()))
                self._store_quietly(msg)
                self.updates.append(self._press(user, msg, kind[6:]))
            else:
                self.updates.append(self.make_message_update(user, kind.removeprefix("text:")))
        self._notify()
        return {"queued": count, "kinds": dict(Counter(kinds))}

    def _press(self, user_id: int, msg: SentMessage, data: str) -> JsonDict:
        """A callback_query update like `make_callback_update`'s, without its scan of every
        message sent."""
        query_id = str(4_000_000_000_000 + next(self._ids))
        self._query_ids.add(query_id)
        user = {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": "vi"}
        self._users.setdefault(user_id, user)
        query = {"id": query_id, "from": user, "chat_instance": str(-(10**12 + user_id)),
                 "data": data, "message": self.message_json(msg)}
        return {"update_id": next(self._update_ids), "callback_query": query}

    async def _bench_replies(self, p: JsonDict) -> JsonDict:
        """Replies (sends and edits) and callback answers per chat, from call number `since`."""
        calls = self.calls[int(p.get("since", 0)):]
        replies = Counter(str(c.params.get("chat_id")) for c in calls
                          if c.method.lower() in REPLIES and c.status == 200)
        failed = Counter(c.method for c in calls if c.status != 200)
        answers = sum(1 for c in calls if c.method.lower() == "answercallbackquery"
                      and c.status == 200)
        times = [c.time for c in calls if c.method.lower() in REPLIES and c.status == 200]
        return {"replies": dict(replies), "answers": answers, "failed": dict(failed),
                "calls": len(self.calls), "last": max(times, default=0.0)}

    # Button presses look their message up by id: a dict, not the test stand-in's scan of
    # every message sent (which would make the stand-in the bottleneck of a long run).
    def _store_quietly(self, msg: SentMessage) -> None:
        self.sent.append(msg)
        self._by_id[msg.chat_id, msg.message_id] = msg

    def _store(self, msg: SentMessage) -> JsonDict:
        self._store_quietly(msg)
        return self.message_json(msg)

    def _find(self, p: JsonDict) -> SentMessage:
        found = self._by_id.get((self._chat_id(p), p.get("message_id")))  # type: ignore[arg-type]
        return found if found is not None else super()._find(p)


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
