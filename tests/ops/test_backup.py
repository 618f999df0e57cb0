"""`dvbot backup` / `dvbot restore` on the real Valkey: every key and type round-trips."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.cli import main
from bot.delivery.outbox import Recipient
from bot.deps import Deps
from bot.engine.messages import Reply
from bot.ops.backup import BackupError, export, parse, restore
from bot.org.models import Role
from bot.storage.connection import connect
from tests.conftest import make_member


async def snapshot(redis: Redis, prefix: str = "dv") -> dict[str, Any]:
    """Everything observable about every key under the prefix (TTL rounded to seconds)."""
    out: dict[str, Any] = {}
    async for key in redis.scan_iter(match=f"{prefix}:*"):
        kind = await redis.type(key)
        ttl = await redis.ttl(key)
        if kind == "string":
            value: Any = await redis.get(key)
        elif kind == "hash":
            value = await redis.hgetall(key)
        elif kind == "list":
            value = await redis.lrange(key, 0, -1)
        elif kind == "set":
            value = sorted(await redis.smembers(key))
        elif kind == "zset":
            value = await redis.zrange(key, 0, -1, withscores=True)
        else:
            assert kind == "stream", kind
            groups = await redis.xinfo_groups(key)
            value = {
                "entries": await redis.xrange(key),
                "last": (await redis.xinfo_stream(key))["last-generated-id"],
                "groups": [(g["name"], g["last-delivered-id"], g["pending"]) for g in groups],
                "pel": [[(p["message_id"], p["consumer"], p["times_delivered"])
                         for p in await redis.xpending_range(key, g["name"], "-", "+", 100)]
                        for g in groups]}
        out[key] = (kind, value, ttl)
    return out


async def fill(deps: Deps) -> None:
    """Real data from the services, plus one key of every type with and without a TTL."""
    redis = deps.redis
    cadre = await make_member(deps, user_id="1", unit="cb-a1", grants=((Role.CADRE, "dbcs-a"),))
    member = await make_member(deps, user_id="2", unit="cb-a2", name="Trần Thị Hai")
    await deps.invites.create(unit="cb-a1", role=Role.MEMBER, created_by=cadre.id, max_uses=3,
                              days=5, now=deps.clock())
    await deps.conversations.save_options("telegram", "2", None)
    await deps.outbox.enqueue("bc-1", [Recipient(member.id, "telegram", "2", "cb-a2"),
                                       Recipient(cadre.id, "telegram", "1", "cb-a1")],
                              [Reply("Thông báo <b>họp</b> chi bộ")])
    stream = deps.keys.job_queue("bc-1", "telegram")
    assert await redis.exists(stream)
    # Two claims, one finished: the group has a pending entry that must survive the restore.
    claimed = await redis.xreadgroup("send", "worker-1", {stream: ">"}, count=2)
    first_id = claimed[0][1][0][0]
    await redis.xack(stream, "send", first_id)
    await redis.set("dv:t:string", "chữ có dấu", ex=500)
    await redis.hset("dv:t:hash", mapping={"a": "1", "b": "hai"})
    await redis.rpush("dv:t:list", "x", "y", "x")
    await redis.sadd("dv:t:set", "p", "q")
    await redis.expire("dv:t:set", 1000)
    await redis.zadd("dv:t:zset", {"m1": 1.5, "m2": -3})
    await redis.xadd("dv:t:emptystream", {"f": "v"}, id="5-1")
    await redis.xgroup_create("dv:t:emptystream", "g", id="$")
    await redis.xdel("dv:t:emptystream", "5-1")
    await redis.set("other:key", "not ours")


async def test_round_trip_compares_every_key(deps: Deps, redis: Redis) -> None:
    await fill(deps)
    before = await snapshot(redis)
    assert {kind for kind, _value, _ttl in before.values()} == {
        "string", "hash", "list", "set", "zset", "stream"}
    lines = [line async for line in export(redis, "dv")]
    assert json.loads(lines[0])["version"] == 1
    assert json.loads(lines[-1]) == {"end": True, "keys": len(before)}
    await redis.flushall()
    header, records = parse(lines)
    assert header["prefix"] == "dv"
    assert await restore(redis, "dv", records) == len(before)
    after = await snapshot(redis)
    assert after.keys() == before.keys()
    for key, (kind, value, ttl) in before.items():
        assert after[key][:2] == (kind, value), key
        assert abs(after[key][2] - ttl) <= 2, key  # TTLs restart at restore time
    assert not await redis.exists("other:key")  # only our prefix is backed up


async def test_restored_queue_resumes(deps: Deps, redis: Redis) -> None:
    await fill(deps)
    lines = [line async for line in export(redis, "dv")]
    await redis.flushall()
    await restore(redis, "dv", parse(lines)[1])
    stream = deps.keys.job_queue("bc-1", "telegram")
    # Nothing new for the group, and the unfinished claim can be taken over by another worker.
    assert await redis.xreadgroup("send", "worker-2", {stream: ">"}) == []
    _next, taken, _deleted = await redis.xautoclaim(stream, "send", "worker-2", 0)
    assert len(taken) == 1


async def test_restore_refuses_a_store_with_data_unless_forced(deps: Deps, redis: Redis) -> None:
    await fill(deps)
    lines = [line async for line in export(redis, "dv")]
    await redis.set("dv:t:string", "changed")
    with pytest.raises(BackupError, match="--force"):
        await restore(redis, "dv", parse(lines)[1])
    assert await redis.get("dv:t:string") == "changed"
    await restore(redis, "dv", parse(lines)[1], force=True)
    assert await redis.get("dv:t:string") == "chữ có dấu"


@pytest.mark.parametrize(("broken", "message"), [
    (lambda ls: ls[:-1], "cắt dở"),
    (lambda ls: ls[:-2] + ls[-1:], "cắt dở"),
    (lambda ls: [ls[0].replace('"version": 1', '"version": 9'), *ls[1:]], "phiên bản"),
    (lambda ls: ['{"format": "other"}', *ls[1:]], "không phải tệp sao lưu"),
    (lambda ls: [ls[0], "{not json", *ls[1:]], "không phải JSON"),
])
async def test_damaged_files_are_refused_before_writing(deps: Deps, redis: Redis, broken: Any,
                                                        message: str) -> None:
    await fill(deps)
    lines = [line async for line in export(redis, "dv")]
    with pytest.raises(BackupError, match=message):
        parse(broken(lines))


async def test_export_pauses_writers_for_a_consistent_point_in_time(
        deps: Deps, redis: Redis, valkey_url: str) -> None:
    await fill(deps)
    other = connect(valkey_url)  # another process: single server or cluster alike
    lines = []
    late: asyncio.Task[Any] | None = None
    async for line in export(redis, "dv"):
        lines.append(line)
        if late is None and len(lines) == 2:
            late = asyncio.create_task(other.set("dv:late", "1"))
            await asyncio.sleep(0.2)
            assert not late.done()  # the write waits for the export, it does not fail
    assert late is not None
    assert await asyncio.wait_for(late, 5)
    await other.aclose()
    assert not any('"dv:late"' in line for line in lines)
    assert await redis.get("dv:late") == "1"


def test_cli_backup_and_restore(deps: Deps, redis: Redis, valkey_url: str, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DVBOT_REDIS_URL", valkey_url)
    monkeypatch.chdir(tmp_path)
    file = tmp_path / "dvbot.jsonl"
    assert main(["backup", str(file)]) == 0
    assert "Đã sao lưu" in capsys.readouterr().out
    assert file.stat().st_mode & 0o077 == 0  # members' data: owner only
    assert main(["restore", str(file)]) == 1  # the store is not empty
    assert "--force" in capsys.readouterr().err
    assert main(["restore", str(file), "--force"]) == 0
    assert "Đã khôi phục" in capsys.readouterr().out
    assert main(["restore", str(tmp_path / "missing.jsonl")]) == 1
    assert "không đọc được" in capsys.readouterr().err
