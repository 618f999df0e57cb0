"""`dvbot restore FILE`: all or nothing.

Every record was checked before this runs (`bot.ops.backup_check`). Writing then goes in
pipelined batches; should the store fail midway (connection lost, out of memory), the keys
written so far are removed and whatever those keys held before (with --force) is put back, so
a failed restore leaves the store as it was and can simply be run again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from bot.ops.backup import BATCH, BackupError, is_empty, read_records

log = logging.getLogger("dvbot.backup")


async def restore(redis: Redis, prefix: str, records: Sequence[dict[str, Any]], *,
                  force: bool = False) -> int:
    """Write checked records; refuses a store with data under the prefix unless `force`."""
    if not force and not await is_empty(redis, prefix):
        raise BackupError(f"kho dữ liệu đã có dữ liệu dưới {prefix}:* — dùng --force để ghi đè")
    keys = [str(record["key"]) for record in records]
    previous: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH):  # what --force is about to overwrite
        previous += await read_records(redis, keys[start:start + BATCH])
    try:
        await write_all(redis, records)
    except (RedisError, OSError) as exc:
        await _undo(redis, keys, previous)
        raise BackupError(f"kho dữ liệu báo lỗi khi đang khôi phục ({exc}); đã hoàn tác, "
                          "kho giữ nguyên như trước khi khôi phục") from None
    return len(records)


async def write_all(redis: Redis, records: Sequence[dict[str, Any]]) -> None:
    """Replace each record's key with the record, in pipelined batches."""
    for start in range(0, len(records), BATCH):
        async with redis.pipeline(transaction=False) as pipe:
            for record in records[start:start + BATCH]:
                _queue(pipe, record)
            await pipe.execute()


async def _undo(redis: Redis, keys: list[str], previous: Sequence[dict[str, Any]]) -> None:
    """Remove what the restore wrote and put back what was there."""
    try:
        for start in range(0, len(keys), BATCH):
            async with redis.pipeline(transaction=False) as pipe:
                for key in keys[start:start + BATCH]:
                    pipe.delete(key)
                await pipe.execute()
        await write_all(redis, previous)
    except (RedisError, OSError):
        log.exception("could not undo a failed restore; the store may hold part of the file")
        raise BackupError("kho dữ liệu báo lỗi khi khôi phục và cả khi hoàn tác; kiểm tra kho "
                          "rồi khôi phục lại với --force") from None


def _queue(pipe: Pipeline, record: dict[str, Any]) -> None:
    key, kind, value = str(record["key"]), str(record["type"]), record["value"]
    pipe.delete(key)
    if kind == "string":
        pipe.set(key, value)
    elif kind == "hash":
        pipe.hset(key, mapping=value)
    elif kind == "list":
        pipe.rpush(key, *value)
    elif kind == "set":
        pipe.sadd(key, *value)
    elif kind == "zset":
        pipe.zadd(key, {member: float(score) for member, score in value})
    else:
        _queue_stream(pipe, key, value)
    if int(record["pttl"]) > 0:
        pipe.pexpire(key, int(record["pttl"]))


def _queue_stream(pipe: Pipeline, key: str, value: dict[str, Any]) -> None:
    for entry_id, fields in value["entries"]:
        pipe.xadd(key, fields, id=entry_id)
    if not value["entries"]:
        # An empty stream still carries its groups and last id: create it with a throwaway
        # entry, then delete it (XSETID below restores the last id).
        pipe.xadd(key, {"_": "_"}, id="0-1")
        pipe.xdel(key, "0-1")
    pipe.execute_command("XSETID", key, value["last_id"])
    for group in value["groups"]:
        pipe.xgroup_create(key, group["name"], id="0")
        for entry_id, consumer, idle, delivered in group["pending"]:
            pipe.xclaim(key, group["name"], consumer, 0, [entry_id], idle=idle,
                        retrycount=delivered, force=True, justid=True)
        pipe.xgroup_setid(key, group["name"], group["last_id"],
                          entries_read=group["entries_read"])
