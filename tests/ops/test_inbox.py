"""The webhook inbox on its own: a slow handler keeps its drain lease (renewed), and the index
of non-empty inboxes follows the inboxes."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.channels.telegram_ordered import Inbox
from bot.storage.keys import Keys


async def test_a_slow_handler_keeps_its_lease(redis: Redis) -> None:
    keys = Keys("dv")
    first, second = Inbox(redis, keys, "telegram", lease=0.3), Inbox(redis, keys, "telegram",
                                                                      lease=0.3)
    await first.add("7", 1, "one")
    handled: list[str] = []

    async def slow(raw: str) -> None:
        await asyncio.sleep(1.0)  # three lease lengths
        handled.append(raw)

    draining = asyncio.create_task(first.drain("7", slow))
    await asyncio.sleep(0.7)  # the lease would have run out twice without renewal
    await first.add("7", 2, "two")
    assert await second.drain("7", slow) == 0  # still held: left to the holder
    assert await draining == 2  # the holder looked again and handled "two" too
    assert handled == ["one", "two"]
    assert not await redis.exists(keys.inbox_lock("telegram", "7"))


async def test_index_of_non_empty_inboxes(redis: Redis) -> None:
    keys = Keys("dv")
    inbox = Inbox(redis, keys, "telegram")
    await inbox.add("7", 1, "one")
    await inbox.add("8", 2, "two")
    assert await inbox.left_behind(age=60) == []  # fresh: a live worker drains them
    assert sorted(await inbox.left_behind(age=-1)) == ["7", "8"]

    async def ignore(_raw: str) -> None:
        return None

    assert await inbox.drain("7", ignore) == 1
    assert await inbox.left_behind(age=-1) == ["8"]


async def test_waiting_updates_are_sealed_in_the_store(redis: Redis) -> None:
    """What a person typed waits in the inbox next to their account: sealed, then opened."""
    from bot.privacy.seal import Sealer

    keys = Keys("dv")
    inbox = Inbox(redis, keys, "telegram", sealer=Sealer(b"s" * 32))
    raw = '{"update_id": 5, "message": {"text": "Tâm tư ẩn danh của tôi"}}'
    await inbox.add("918273645500", 5, raw)
    stored = await redis.zrange(keys.inbox("telegram", "918273645500"), 0, -1)
    assert len(stored) == 1 and "Tâm tư" not in stored[0] and "update_id" not in stored[0]
    handled: list[str] = []

    async def keep(got: str) -> None:
        handled.append(got)

    assert await inbox.drain("918273645500", keep) == 1 and handled == [raw]


async def test_an_entry_that_does_not_open_is_dropped_not_stuck(redis: Redis) -> None:
    from bot.privacy.seal import Sealer

    keys = Keys("dv")
    await redis.zadd(keys.inbox("telegram", "7"), {'{"update_id": 1}': 1})  # before sealing
    inbox = Inbox(redis, keys, "telegram", sealer=Sealer(b"s" * 32))
    await inbox.add("7", 2, "two")
    handled: list[str] = []

    async def keep(text: str) -> None:
        handled.append(text)

    assert await inbox.drain("7", keep) == 1 and handled == ["two"]
