"""PTB's update processor of dvbot: different accounts run side by side, one account's
updates run strictly in arrival order, also when an earlier one fails."""

from __future__ import annotations

import asyncio
import contextlib

from bot.channels.telegram_ordered import Drain
from bot.channels.telegram_processor import PerAccountOrder, account_of


async def test_one_account_in_order_others_alongside() -> None:
    processor = PerAccountOrder(8)
    events: list[str] = []
    release_first = asyncio.Event()

    async def step(name: str, gate: asyncio.Event | None = None, fail: bool = False) -> None:
        events.append(f"start {name}")
        if gate is not None:
            await gate.wait()
        events.append(f"end {name}")
        if fail:
            raise RuntimeError(name)

    async def run(update: object, coro: object) -> None:
        with contextlib.suppress(RuntimeError):  # a1 fails: a2 and a3 still run after it
            await processor.process_update(update, coro)  # type: ignore[arg-type]

    tasks = [asyncio.create_task(run(Drain("a"), step("a1", release_first, fail=True))),
             asyncio.create_task(run(Drain("a"), step("a2"))),
             asyncio.create_task(run(Drain("b"), step("b1"))),
             asyncio.create_task(run(Drain("a"), step("a3")))]
    await asyncio.sleep(0.05)
    # a1 is stuck; a2 and a3 wait for it; b1 ran meanwhile.
    assert events == ["start a1", "start b1", "end b1"]
    release_first.set()
    await asyncio.gather(*tasks)
    of_a = [e for e in events if e.split()[1][0] == "a"]
    assert of_a == ["start a1", "end a1", "start a2", "end a2", "start a3", "end a3"]
    assert processor._tails == {}  # nothing kept once an account is idle


def test_whose_update_it_is() -> None:
    assert account_of(Drain("42")) == "42"
    assert account_of(object()) is None
