"""`dvbot backup FILE`: every key under the prefix, as signed JSON lines.

Format (version 2), one JSON object per line:
  {"format": "dvbot-backup", "version": 2, "prefix": "dv", "created": "<ISO time>"}
  {"key": "...", "type": "string|hash|list|set|zset|stream", "pttl": <ms or -1>, "value": ...}
  ...
  {"end": true, "keys": <count>, "consistent": true, "sha256": "<hex>", "hmac": "<hex>"}

`sha256` covers every line before the trailer (each with its newline) and catches damage;
`hmac` is the same digest keyed from the deployment secret (which is not in Redis), so a file
edited by hand (a member record that grants admin, say) is refused on restore, even when the
editor recomputed the SHA-256. A file without the trailer was cut short and is refused.
`consistent` says whether every key was read at one instant (see `bot.ops.point_in_time`).

Generic on purpose: it walks every key under `<prefix>:`, whatever feature added it, so new
features are covered without touching this module. Streams keep their entries, last id,
consumer groups and pending entries (re-created with XCLAIM FORCE), so queues resume.

Point in time: the keys are read from a snapshot of the store (`bot.ops.snapshot`), never by
holding everyone's writes; see there. Restore is in `bot.ops.restore`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

FORMAT = "dvbot-backup"
VERSION = 2
BATCH = 500
_SIGNING_LABEL = b"dvbot-backup-signature-v2"


class BackupError(Exception):
    """The file or the target store is not fit for a restore; the message says why."""


def signing_key(deployment_secret: bytes) -> bytes:
    """The key that signs backups: derived from the deployment secret, used for nothing else."""
    return hmac.new(deployment_secret, _SIGNING_LABEL, hashlib.sha256).digest()


class Digest:
    """SHA-256 and HMAC-SHA-256 over the same lines, each counted with its newline."""

    def __init__(self, key: bytes) -> None:
        self._plain = hashlib.sha256()
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def add(self, line: str) -> None:
        """Count one line."""
        data = line.encode("utf-8") + b"\n"
        self._plain.update(data)
        self._keyed.update(data)

    def sha256(self) -> str:
        """Hex SHA-256 of the lines so far."""
        return self._plain.hexdigest()

    def hmac(self) -> str:
        """Hex HMAC of the lines so far."""
        return self._keyed.hexdigest()


async def export(sources: Sequence[Redis], prefix: str, key: bytes, *,
                 consistent: Callable[[], bool] = lambda: True) -> AsyncIterator[str]:
    """Yield the backup's lines (without newlines): the keys of every source, then the
    trailer. Several sources are the snapshots of a cluster's primaries."""
    digest = Digest(key)
    header = json.dumps({"format": FORMAT, "version": VERSION, "prefix": prefix,
                         "created": datetime.now(UTC).isoformat(timespec="seconds")})
    digest.add(header)
    yield header
    count = 0
    for source in sources:
        async for line in _records(source, prefix):
            digest.add(line)
            count += 1
            yield line
    yield json.dumps({"end": True, "keys": count, "consistent": consistent(),
                      "sha256": digest.sha256(), "hmac": digest.hmac()})


async def _records(redis: Redis, prefix: str) -> AsyncIterator[str]:
    batch: list[str] = []
    async for key in redis.scan_iter(match=f"{escape(prefix)}:*", count=BATCH):
        batch.append(str(key))
        if len(batch) >= BATCH:
            for line in await dump_batch(redis, batch):
                yield line
            batch = []
    for line in await dump_batch(redis, batch):
        yield line


async def dump_batch(redis: Redis, keys: list[str]) -> list[str]:
    """The records of these keys (keys gone meanwhile are skipped)."""
    return [json.dumps(record, ensure_ascii=False) for record in await read_records(redis, keys)]


async def read_records(redis: Redis, keys: list[str]) -> list[dict[str, Any]]:
    """{key, type, pttl, value} of each key that exists."""
    if not keys:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.type(key)
            pipe.pttl(key)
        meta = await pipe.execute()
    found = [(key, str(meta[2 * i]), int(meta[2 * i + 1])) for i, key in enumerate(keys)
             if str(meta[2 * i]) != "none"]  # "none": expired between SCAN and TYPE
    async with redis.pipeline(transaction=False) as pipe:
        for key, kind, _pttl in found:
            _queue_read(pipe, key, kind)
        values = await pipe.execute()
    records = []
    for (key, kind, pttl), value in zip(found, values, strict=True):
        if kind == "stream":
            value = await _read_stream(redis, key)
        elif kind == "set":
            value = sorted(value)
        elif kind == "zset":
            value = [[member, score] for member, score in value]
        records.append({"key": key, "type": kind, "pttl": pttl, "value": value})
    return records


def _queue_read(pipe: Pipeline, key: str, kind: str) -> None:
    if kind == "string":
        pipe.get(key)
    elif kind == "hash":
        pipe.hgetall(key)
    elif kind == "list":
        pipe.lrange(key, 0, -1)
    elif kind == "set":
        pipe.smembers(key)
    elif kind == "zset":
        pipe.zrange(key, 0, -1, withscores=True)
    elif kind == "stream":
        pipe.exists(key)  # placeholder: a stream takes several reads, done after
    else:
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


async def is_empty(redis: Redis, prefix: str) -> bool:
    """True when no key lives under the prefix."""
    async for _key in redis.scan_iter(match=f"{escape(prefix)}:*", count=1000):
        return False
    return True


def escape(prefix: str) -> str:
    """The prefix with glob characters escaped for SCAN MATCH."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in prefix)
