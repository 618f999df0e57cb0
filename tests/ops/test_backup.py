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
from bot.ops.backup import BackupError, export, signing_key
from bot.ops.backup_check import read
from bot.ops.point_in_time import point_in_time
from bot.ops.restore import restore
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


KEY = signing_key(b"test deployment secret")


async def lines_of(redis: Redis) -> list[str]:
    """A signed backup of the live store, as lines."""
    return [line async for line in export([redis], "dv", KEY)]


def records_of(lines: list[str]) -> list[dict[str, Any]]:
    """The checked records of a backup."""
    return read(lines, "dv", KEY).records


async def test_round_trip_compares_every_key(deps: Deps, redis: Redis) -> None:
    await fill(deps)
    before = await snapshot(redis)
    assert {kind for kind, _value, _ttl in before.values()} == {
        "string", "hash", "list", "set", "zset", "stream"}
    lines = await lines_of(redis)
    assert json.loads(lines[0])["version"] == 2
    trailer = json.loads(lines[-1])
    assert trailer["end"] is True and trailer["keys"] == len(before)
    assert len(trailer["sha256"]) == 64 and len(trailer["hmac"]) == 64
    await redis.flushall()
    backup = read(lines, "dv", KEY)
    assert backup.header["prefix"] == "dv" and backup.signed
    assert await restore(redis, "dv", backup.records) == len(before)
    after = await snapshot(redis)
    assert after.keys() == before.keys()
    for key, (kind, value, ttl) in before.items():
        assert after[key][:2] == (kind, value), key
        assert abs(after[key][2] - ttl) <= 2, key  # TTLs restart at restore time
    assert not await redis.exists("other:key")  # only our prefix is backed up


async def test_restored_queue_resumes(deps: Deps, redis: Redis) -> None:
    await fill(deps)
    lines = await lines_of(redis)
    await redis.flushall()
    await restore(redis, "dv", records_of(lines))
    stream = deps.keys.job_queue("bc-1", "telegram")
    # Nothing new for the group, and the unfinished claim can be taken over by another worker.
    assert await redis.xreadgroup("send", "worker-2", {stream: ">"}) == []
    _next, taken, _deleted = await redis.xautoclaim(stream, "send", "worker-2", 0)
    assert len(taken) == 1


async def test_restore_refuses_a_store_with_data_unless_forced(deps: Deps, redis: Redis) -> None:
    await fill(deps)
    lines = await lines_of(redis)
    await redis.set("dv:t:string", "changed")
    with pytest.raises(BackupError, match="--force"):
        await restore(redis, "dv", records_of(lines))
    assert await redis.get("dv:t:string") == "changed"
    await restore(redis, "dv", records_of(lines), force=True)
    assert await redis.get("dv:t:string") == "chữ có dấu"


@pytest.mark.parametrize(("broken", "message"), [
    (lambda ls: ls[:-1], "cắt dở"),
    (lambda ls: ls[:-2] + ls[-1:], "cắt dở"),
    (lambda ls: [ls[0].replace('"version": 2', '"version": 9'), *ls[1:]], "phiên bản"),
    (lambda ls: ['{"format": "other"}', *ls[1:]], "không phải tệp sao lưu"),
    (lambda ls: [ls[0], "{not json", *ls[1:]], "không phải JSON"),
    (lambda ls: [ls[0], "[1, 2]", *ls[1:]], "không phải một bản ghi"),
    (lambda ls: [ls[0].replace('"dv"', '"dvdemo"'), *ls[1:]], "tiền tố"),
])
async def test_damaged_files_are_refused_before_writing(deps: Deps, redis: Redis, broken: Any,
                                                        message: str) -> None:
    await fill(deps)
    lines = await lines_of(redis)
    with pytest.raises(BackupError, match=message):
        read(broken(lines), "dv", KEY)


async def test_a_snapshot_copies_one_instant_while_writes_go_on(
        deps: Deps, redis: Redis, valkey_url: str, tmp_path: Path) -> None:
    """The copy is of the moment the snapshot was taken; nobody's writes wait for it."""
    await fill(deps)
    other = connect(valkey_url)  # another process: single server or cluster alike
    lines = []
    async with point_in_time(redis, tmp_path / "scratch") as source:
        assert source.how == "snapshot"
        for _ in range(20):  # a writer during the export is served at once
            started = asyncio.get_running_loop().time()
            await other.set("dv:late", "1")
            assert asyncio.get_running_loop().time() - started < 0.5
        lines = [line async for line in export(source.clients, "dv", KEY,
                                               consistent=lambda: source.consistent)]
    await other.aclose()
    assert not any('"dv:late"' in line for line in lines)
    assert json.loads(lines[-1])["consistent"] is True
    assert await redis.get("dv:late") == "1"
    assert not (tmp_path / "scratch").exists()  # the RDB copies are gone
    await redis.flushall()
    assert await restore(redis, "dv", records_of(lines)) == len(lines) - 2


def test_cli_backup_and_restore(deps: Deps, redis: Redis, valkey_url: str, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DVBOT_REDIS_URL", valkey_url)
    monkeypatch.setenv("DVBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    file = tmp_path / "dvbot.jsonl"
    assert main(["backup", str(file)]) == 0
    assert "Đã sao lưu" in capsys.readouterr().out
    assert file.stat().st_mode & 0o077 == 0  # members' data: owner only
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert main(["restore", str(file)]) == 1  # the store is not empty
    assert "--force" in capsys.readouterr().err
    assert main(["restore", str(file), "--force"]) == 0
    assert "Đã khôi phục" in capsys.readouterr().out
    assert main(["restore", str(tmp_path / "missing.jsonl")]) == 1
    assert "không đọc được" in capsys.readouterr().err
