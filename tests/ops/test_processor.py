"""dvbot's Telegram update processor: different accounts run side by side, one account's
updates run strictly in arrival order, also when an earlier one fails; the poller is held back
while too many are in progress."""

from __future__ import annotations

import asyncio

from bot.channels.telegram_processor import PerAccountOrder


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
            raise RuntimeError(name)  # a1 fails: a2 and a3 still run after it

    processor.submit("a", step("a1", release_first, fail=True))
    processor.submit("a", step("a2"))
    processor.submit("b", step("b1"))
    processor.submit("a", step("a3"))
    await asyncio.sleep(0.05)
    # a1 is stuck; a2 and a3 wait for it; b1 ran meanwhile.
    assert events == ["start a1", "start b1", "end b1"]
    assert processor.in_progress == 3
    release_first.set()
    await processor.join()
    of_a = [e for e in events if e.split()[1][0] == "a"]
    assert of_a == ["start a1", "end a1", "start a2", "end a2", "start a3", "end a3"]
    assert processor._tails == {}  # nothing kept once an account is idle
    assert processor.in_progress == 0


async def test_room_waits_while_the_slots_are_taken() -> None:
    processor = PerAccountOrder(2)
    gate = asyncio.Event()

    async def held() -> None:
        await gate.wait()

    processor.submit("a", held())
    processor.submit("b", held())
    waiting = asyncio.create_task(processor.room())
    await asyncio.sleep(0.05)
    assert not waiting.done()  # two in progress: the poller fetches no more
    gate.set()
    await asyncio.wait_for(waiting, 1)
    await processor.join()


async def test_updates_without_an_account_run_unordered() -> None:
    processor = PerAccountOrder(4)
    events: list[str] = []
    gate = asyncio.Event()

    async def step(name: str, wait: bool) -> None:
        if wait:
            await gate.wait()
        events.append(name)

    processor.submit(None, step("first", wait=True))
    processor.submit(None, step("second", wait=False))
    await asyncio.sleep(0.05)
    assert events == ["second"]
    gate.set()
    await processor.join()
    assert events == ["second", "first"]
