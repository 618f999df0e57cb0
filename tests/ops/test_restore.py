"""Restore is all or nothing, and backups never freeze the store.

Regressions pinned here: a hand-edited record (bad key prefix, type, pttl, null or missing value)
left 28 of 57 keys written, some errors were raw tracebacks, and a re-run was then refused
because the store was not empty; an edited member record silently granted admin; a `dvbot
backup` killed during export froze every client's writes for 119 s and left a `.tmp` behind."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.cli import main
from bot.deps import Deps
from bot.ops.backup import BackupError
from bot.ops.backup_check import read
from bot.ops.restore import restore
from bot.org.models import Role
from bot.storage.connection import connect
from tests.ops.test_backup import KEY, fill, lines_of, snapshot

Edit = Callable[[dict[str, Any]], None]


def _edit_record(lines: list[str], key: str, edit: Edit) -> list[str]:
    """The file with one record changed (the checksums left as they were)."""
    out = []
    for line in lines:
        record = json.loads(line)
        if record.get("key") == key:
            edit(record)
            line = json.dumps(record, ensure_ascii=False)
        out.append(line)
    return out


def _reseal_sha256(lines: list[str]) -> list[str]:
    """What an editor who knows the format does: recompute the SHA-256 (not the HMAC)."""
    body = "".join(line + "\n" for line in lines[:-1]).encode()
    trailer = json.loads(lines[-1])
    trailer["sha256"] = hashlib.sha256(body).hexdigest()
    return [*lines[:-1], json.dumps(trailer)]


def _set(field: str, value: Any) -> Edit:
    return lambda record: record.__setitem__(field, value)


@pytest.mark.parametrize(("key", "edit", "message"), [
    ("dv:t:string", _set("key", "other:t:string"), "không thuộc tiền tố"),
    ("dv:t:string", _set("type", "blob"), "kiểu 'blob' không hợp lệ"),
    ("dv:t:hash", _set("pttl", "soon"), "pttl 'soon' không hợp lệ"),
    ("dv:t:hash", _set("pttl", 0), "pttl 0 không hợp lệ"),
    ("dv:t:string", _set("value", None), "phải là một chuỗi"),
    ("dv:t:hash", lambda record: record.pop("value"), "thiếu giá trị"),
    ("dv:t:hash", _set("value", {"a": 1}), "bảng trường"),
    ("dv:t:list", _set("value", []), "danh sách chuỗi"),
    ("dv:t:zset", _set("value", [["m1", "high"]]), "cặp"),
    ("dv:t:emptystream", _set("value", {"entries": []}), "last_id"),
    ("dv:t:set", _set("key", "dv:t:list"), "xuất hiện hai lần"),
])
async def test_a_bad_record_writes_nothing(deps: Deps, redis: Redis, key: str, edit: Edit,
                                           message: str) -> None:
    await fill(deps)
    lines = _reseal_sha256(_edit_record(await lines_of(redis), key, edit))
    await redis.flushall()
    with pytest.raises(BackupError, match=message) as caught:
        read(lines, "dv", KEY, ignore_signature=True)  # even without the signature check
    assert str(caught.value).startswith("dòng ")  # the line at fault is named
    assert await redis.dbsize() == 0


async def test_an_edited_member_record_granting_admin_is_refused(deps: Deps,
                                                                  redis: Redis) -> None:
    await fill(deps)
    member = await deps.members.by_account("telegram", "2")
    assert member is not None and member.grants == []
    key = deps.keys.member(member.id)
    assert await redis.type(key) == "string"

    def grant_admin(record: dict[str, Any]) -> None:
        stored = json.loads(record["value"])
        stored["grants"] = [{"role": Role.ADMIN.value, "unit": "khoi"}]
        record["value"] = json.dumps(stored, ensure_ascii=False)

    edited = _edit_record(await lines_of(redis), key, grant_admin)
    with pytest.raises(BackupError, match="SHA-256 không khớp"):
        read(edited, "dv", KEY)
    with pytest.raises(BackupError, match="chữ ký của tệp sao lưu không khớp"):
        read(_reseal_sha256(edited), "dv", KEY)
    # Signed with another deployment's secret: refused the same way.
    with pytest.raises(BackupError, match="bí mật triển khai khác"):
        read(await lines_of(redis), "dv", hashlib.sha256(b"another").digest())


async def test_a_store_failing_midway_is_put_back(deps: Deps, redis: Redis) -> None:
    """Out of memory halfway through (a real server limit): nothing of the file stays, and
    with --force the keys it was overwriting get their old values back."""
    await fill(deps)
    for number in range(3000):
        await redis.set(f"dv:big:{number}", "x" * 1000)
    lines = await lines_of(redis)
    await redis.flushall()
    await redis.set("dv:t:string", "the value before")
    await redis.set("dv:untouched", "kept")
    before = await snapshot(redis)
    used = int((await redis.info("memory"))["used_memory"])
    await redis.config_set("maxmemory", used + 1_000_000)  # room for a third of the file
    try:
        with pytest.raises(BackupError, match="đã hoàn tác"):
            await restore(redis, "dv", read(lines, "dv", KEY).records, force=True)
    finally:
        await redis.config_set("maxmemory", 0)
    assert await snapshot(redis) == before
    # ...and a second run goes through once the server has room.
    assert await restore(redis, "dv", read(lines, "dv", KEY).records, force=True) > 3000


def test_cli_names_the_bad_line_without_a_traceback(deps: Deps, redis: Redis, valkey_url: str,
                                                    tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DVBOT_REDIS_URL", valkey_url)
    monkeypatch.setenv("DVBOT_DATA_DIR", str(tmp_path / "data"))
    asyncio.run(_fill_via_new_client(valkey_url, deps))
    file = tmp_path / "b.jsonl"
    assert main(["backup", str(file)]) == 0
    assert main(["restore", str(file), "--force"]) == 0  # U+2028 inside a value is fine
    lines = file.read_text(encoding="utf-8").split("\n")[:-1]
    file.write_text("\n".join(_edit_record(lines, "dv:t:string", _set("value", None))) + "\n",
                    encoding="utf-8")
    capsys.readouterr()
    assert main(["restore", str(file), "--force"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dvbot: tệp sao lưu bị hỏng hoặc bị sửa") and "Traceback" not in err
    file.write_text("\n".join(_reseal_sha256(_edit_record(
        lines, "dv:t:string", _set("value", None)))) + "\n", encoding="utf-8")
    assert main(["restore", str(file), "--force", "--ignore-signature"]) == 1
    err = capsys.readouterr().err
    assert "dòng" in err and "phải là một chuỗi" in err and "Traceback" not in err


async def _fill_via_new_client(url: str, deps: Deps) -> None:
    client = connect(url)
    try:
        await client.set("dv:t:string", "chữ có dấu")
        await client.set("dv:t:name", "tên có\u2028dòng mới")  # a line break JSON keeps
    finally:
        await client.aclose()


async def test_a_killed_backup_freezes_nothing_and_leaves_nothing(
        deps: Deps, redis: Redis, valkey_url: str, tmp_path: Path) -> None:
    for start in range(0, 20_000, 5000):
        async with redis.pipeline(transaction=False) as pipe:
            for number in range(start, start + 5000):
                pipe.set(f"dv:k:{number}", "v" * 50)
            await pipe.execute()
    folder = tmp_path / "backups"
    folder.mkdir()
    env = {**os.environ, "DVBOT_REDIS_URL": valkey_url, "DVBOT_DATA_DIR": str(tmp_path / "d")}
    file = folder / "b.jsonl"
    backup = _start_dvbot(["backup", str(file)], env)
    try:
        tmp = await _appears(folder, ".tmp", backup)  # the export is under way
        servers = _snapshot_servers(folder)
        assert servers, "the backup reads from a throw-away server"
        backup.send_signal(signal.SIGKILL)
        backup.wait(10)
    finally:
        if backup.poll() is None:
            backup.kill()
    started = time.monotonic()
    other = connect(valkey_url)
    await other.set("dv:after", "1")  # not frozen: answered at once
    await other.aclose()
    assert time.monotonic() - started < 1.0
    assert tmp.exists()  # SIGKILL leaves it; the next backup removes it
    await _gone(servers)  # the throw-away server died with its parent
    assert dvbot_process(["backup", str(file)], env) == 0
    assert [p.name for p in folder.iterdir()] == ["b.jsonl"]


def _start_dvbot(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bot", *argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _written(folder: Path, suffix: str) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(suffix) and p.stat().st_size]


async def _appears(folder: Path, suffix: str, proc: subprocess.Popen[bytes]) -> Path:
    for _ in range(600):  # bounded: 60 s
        found = _written(folder, suffix)
        if found:
            return found[0]
        assert proc.poll() is None, "the backup ended before it could be killed"
        await asyncio.sleep(0.1)
    raise AssertionError("the backup never started writing")


def _snapshot_servers(folder: Path) -> list[int]:
    """Pids of valkey-servers working in a backup's scratch directory under `folder`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd.startswith(str(folder)) and cwd.endswith(".snap"):
            pids.append(int(entry.name))
    return pids


async def _gone(pids: list[int]) -> None:
    for _ in range(100):
        if not any(_state(pid) not in ("Z", "X") for pid in pids):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"throw-away servers still running: {pids}")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return "X"


def dvbot_process(argv: list[str], env: dict[str, str]) -> int:
    """Run `dvbot ...` as a separate process."""
    return subprocess.run([sys.executable, "-m", "bot", *argv], env=env, check=False,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode



def test_a_version_1_file_needs_ignore_signature() -> None:
    lines = ['{"format": "dvbot-backup", "version": 1, "prefix": "dv", "created": "x"}',
             '{"key": "dv:a", "type": "string", "pttl": -1, "value": "1"}',
             '{"end": true, "keys": 1}']
    with pytest.raises(BackupError, match="--ignore-signature"):
        read(lines, "dv", KEY)
    backup = read(lines, "dv", KEY, ignore_signature=True)
    assert not backup.signed and backup.records[0]["key"] == "dv:a"
