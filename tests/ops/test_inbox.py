"""The webhook inbox on its own: a slow handler keeps its drain lease (renewed), and the index
of non-empty inboxes follows the inboxes."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.channels.telegram_ordered import Inbox
from bot.privacy.seal import Sealer
from bot.storage.keys import Keys

SEALER = Sealer(b"inbox-test-secret-0123456789")


async def test_a_slow_handler_keeps_its_lease(redis: Redis) -> None:
    keys = Keys("dv")
    first, second = (Inbox(redis, keys, "telegram", SEALER, lease=0.3),
                     Inbox(redis, keys, "telegram", SEALER, lease=0.3))
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
    inbox = Inbox(redis, keys, "telegram", SEALER)
    await inbox.add("7", 1, "one")
    await inbox.add("8", 2, "two")
    assert await inbox.left_behind(age=60) == []  # fresh: a live worker drains them
    assert sorted(await inbox.left_behind(age=-1)) == ["7", "8"]

    async def ignore(_raw: str) -> None:
        return None

    assert await inbox.drain("7", ignore) == 1
    assert await inbox.left_behind(age=-1) == ["8"]


async def test_updates_wait_sealed(redis: Redis) -> None:
    """An update names its sender and what they pressed: it is never in the inbox in clear."""
    keys = Keys("dv")
    inbox = Inbox(redis, keys, "telegram", SEALER)
    raw = '{"update_id": 5, "callback_query": {"from": {"id": 424242}, "data": "sv.a|3|0|2"}}'
    await inbox.add("424242", 5, raw)
    stored = await redis.zrange(keys.inbox("telegram", "424242"), 0, -1)
    assert len(stored) == 1 and "424242" not in stored[0] and "sv.a" not in stored[0]
    handled: list[str] = []

    async def keep(text: str) -> None:
        handled.append(text)

    assert await inbox.drain("424242", keep) == 1
    assert handled == [raw]
    assert not await redis.exists(keys.inbox("telegram", "424242"))


async def test_an_entry_that_does_not_open_is_dropped_not_stuck(redis: Redis) -> None:
    keys = Keys("dv")
    await redis.zadd(keys.inbox("telegram", "7"), {'{"update_id": 1}': 1})  # before sealing
    inbox = Inbox(redis, keys, "telegram", SEALER)
    await inbox.add("7", 2, "two")
    handled: list[str] = []

    async def keep(text: str) -> None:
        handled.append(text)

    assert await inbox.drain("7", keep) == 1 and handled == ["two"]
