"""`dvbot backup FILE` / `dvbot restore FILE`: every key under the prefix, as JSON lines.

Format (version 1), one JSON object per line:
  {"format": "dvbot-backup", "version": 1, "prefix": "dv", "created": "<ISO time>"}
  {"key": "...", "type": "string|hash|list|set|zset|stream", "pttl": <ms or -1>, "value": ...}
  ...
  {"end": true, "keys": <count>}        <- a file without it was cut short and is refused

Generic on purpose: it walks every key under `<prefix>:`, whatever issue added it, so new
features are covered without touching this module. Streams keep their entries, last id,
consumer groups and pending entries (re-created with XCLAIM FORCE), so queues resume.
Consistency: writes are paused (CLIENT PAUSE WRITE, which also stops expiry; a cluster
client is told to send it to every node) while the keys are read, so the file is one point in time;
the bot's writes wait, they do not fail. A server that refuses CLIENT PAUSE (some managed
services) gets a live export instead. Restored TTLs start again from the moment of the restore.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

FORMAT = "dvbot-backup"
VERSION = 1
BATCH = 500
PAUSE_MS = 120_000  # upper bound of the pause: released as soon as the export is done


class BackupError(Exception):
    """The file or the target store is not fit for a restore; the message says why."""


async def export(redis: Redis, prefix: str, *, pause: bool = True) -> AsyncIterator[str]:
    """Yield the backup's lines (without newlines)."""
    yield json.dumps({"format": FORMAT, "version": VERSION, "prefix": prefix,
                      "created": datetime.now(UTC).isoformat(timespec="seconds")})
    count = 0
    async with _paused(redis, pause):
        batch: list[str] = []
        async for key in redis.scan_iter(match=f"{_escape(prefix)}:*", count=BATCH):
            batch.append(str(key))
            if len(batch) >= BATCH:
                for line in await _dump_batch(redis, batch):
                    count += 1
                    yield line
                batch = []
        for line in await _dump_batch(redis, batch):
            count += 1
            yield line
    yield json.dumps({"end": True, "keys": count})


async def _dump_batch(redis: Redis, keys: list[str]) -> list[str]:
    if not keys:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.type(key)
            pipe.pttl(key)
        meta = await pipe.execute()
    lines = []
    for index, key in enumerate(keys):
        kind, pttl = str(meta[2 * index]), int(meta[2 * index + 1])
        if kind == "none":
            continue  # expired between SCAN and TYPE (only possible without the pause)
        value = await _read(redis, key, kind)
        lines.append(json.dumps({"key": key, "type": kind, "pttl": pttl, "value": value},
                                ensure_ascii=False))
    return lines


async def _read(redis: Redis, key: str, kind: str) -> Any:
    if kind == "string":
        return await redis.get(key)
    if kind == "hash":
        return await redis.hgetall(key)
    if kind == "list":
        return await redis.lrange(key, 0, -1)
    if kind == "set":
        return sorted(await redis.smembers(key))
    if kind == "zset":
        pairs: list[Any] = await redis.zrange(key, 0, -1, withscores=True)
        return [[member, score] for member, score in pairs]
    if kind == "stream":
        return await _read_stream(redis, key)
    raise BackupError(f"khóa {key} có kiểu {kind} chưa được hỗ trợ")


async def _read_stream(redis: Redis, key: str) -> dict[str, Any]:
    info = await redis.xinfo_stream(key)
    raw: list[Any] = await redis.xrange(key) or []
    entries = [[entry_id, fields] for entry_id, fields in raw]
    groups = []
    for group in await redis.xinfo_groups(key):
        name = group["name"]
        pending = []
        if int(group["pending"]):
            for item in await redis.xpending_range(key, name, "-", "+", int(group["pending"])):
                pending.append([item["message_id"], item["consumer"],
                                int(item["time_since_delivered"]),
                                int(item["times_delivered"])])
        groups.append({"name": name, "last_id": group["last-delivered-id"],
                       "entries_read": group.get("entries-read"), "pending": pending})
    return {"entries": entries, "last_id": info["last-generated-id"], "groups": groups}


@asynccontextmanager
async def _paused(redis: Redis, pause: bool) -> AsyncIterator[None]:
    """Hold every other client's writes while the keys are read."""
    paused = False
    # A cluster client sends CLIENT PAUSE to its default node only: name every node.
    nodes: dict[str, Any] = ({"target_nodes": RedisCluster.ALL_NODES}
                             if isinstance(redis, RedisCluster) else {})
    if pause:
        try:
            paused = bool(await redis.client_pause(PAUSE_MS, all=False, **nodes))
        except (ResponseError, NotImplementedError, AttributeError):
            paused = False  # a managed service that forbids it: a live export
    try:
        yield
    finally:
        if paused:
            await redis.client_unpause(**nodes)


async def is_empty(redis: Redis, prefix: str) -> bool:
    """True when no key lives under the prefix."""
    async for _key in redis.scan_iter(match=f"{_escape(prefix)}:*", count=1000):
        return False
    return True


def parse(lines: Iterable[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Check the header and the trailer; the header and the key records (all parsed before
    anything is written, so a damaged file changes nothing)."""
    records: list[dict[str, Any]] = []
    header: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            raise BackupError(f"dòng {number} không phải JSON") from None
        if header is None:
            header = item
            if item.get("format") != FORMAT:
                raise BackupError("không phải tệp sao lưu dvbot")
            if item.get("version") != VERSION:
                raise BackupError(f"phiên bản tệp {item.get('version')} không được hỗ trợ "
                                  f"(cần {VERSION})")
        elif end is not None:
            raise BackupError(f"dòng {number} nằm sau dòng kết thúc")
        elif item.get("end"):
            end = item
        else:
            records.append(item)
    if header is None or end is None or end.get("keys") != len(records):
        raise BackupError("tệp sao lưu bị cắt dở (thiếu dòng kết thúc hoặc thiếu khóa)")
    return header, records


async def restore(redis: Redis, prefix: str, records: Iterable[dict[str, Any]], *,
                  force: bool = False) -> int:
    """Write the records; refuses a store that has data under the prefix unless `force`."""
    if not force and not await is_empty(redis, prefix):
        raise BackupError(f"kho dữ liệu đã có dữ liệu dưới {prefix}:* — dùng --force để ghi đè")
    count = 0
    for record in records:
        key = str(record["key"])
        if not key.startswith(f"{prefix}:"):
            raise BackupError(f"khóa {key} không thuộc tiền tố {prefix}")
        await redis.delete(key)
        await _write(redis, key, str(record["type"]), record["value"])
        pttl = int(record["pttl"])
        if pttl > 0:
            await redis.pexpire(key, pttl)
        count += 1
    return count


async def _write(redis: Redis, key: str, kind: str, value: Any) -> None:
    if kind == "string":
        await redis.set(key, value)
    elif kind == "hash" and value:
        await redis.hset(key, mapping=value)
    elif kind == "list" and value:
        await redis.rpush(key, *value)
    elif kind == "set" and value:
        await redis.sadd(key, *value)
    elif kind == "zset" and value:
        await redis.zadd(key, {member: float(score) for member, score in value})
    elif kind == "stream":
        await _write_stream(redis, key, value)
    elif kind not in ("hash", "list", "set", "zset"):
        raise BackupError(f"khóa {key} có kiểu {kind} không biết")


async def _write_stream(redis: Redis, key: str, value: dict[str, Any]) -> None:
    for entry_id, fields in value["entries"]:
        await redis.xadd(key, fields, id=entry_id)
    if not value["entries"]:
        # An empty stream still carries its groups and last id: create it with a throwaway
        # entry, then delete it (XSETID below restores the last id).
        await redis.xadd(key, {"_": "_"}, id="0-1")
        await redis.xdel(key, "0-1")
    await redis.execute_command("XSETID", key, value["last_id"])  # type: ignore[no-untyped-call]
    for group in value["groups"]:
        await redis.xgroup_create(key, group["name"], id="0")
        for entry_id, consumer, idle, delivered in group["pending"]:
            await redis.xclaim(key, group["name"], consumer, 0, [entry_id], idle=idle,
                               retrycount=delivered, force=True, justid=True)
        await redis.xgroup_setid(key, group["name"], group["last_id"],
                                 entries_read=group["entries_read"])


def _escape(prefix: str) -> str:
    """The prefix with glob characters escaped for SCAN MATCH."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in prefix)
