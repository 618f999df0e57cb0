"""Files readable by others: DATA_DIR was 0755, exports (khao-sat-*.csv/.xlsx/.png) 0644 and never
deleted. Now every folder under DATA_DIR is 0700, every file 0600, and exports expire."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.library.files import FileStore
from bot.org.models import Role
from bot.privacy.files import EXPORT_TTL, ExportSweeper, private_dir, sweep
from bot.privacy.secret import deployment_secret
from bot.proposals.export import write_csv, write_xlsx
from bot.storage.embedded import EmbeddedValkey
from tests.conftest import make_member
from tests.handlers.chat import Chat
from tests.surveys.test_outputs import _survey


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private(root: Path) -> None:
    """Every folder 0700 and every file 0600 under (and including) `root`."""
    assert mode(root) == 0o700, root
    for path in root.rglob("*"):
        if path.is_symlink() or path.is_socket():
            continue
        expected = 0o700 if path.is_dir() else 0o600
        assert mode(path) == expected, f"{path}: {oct(mode(path))}"


async def test_survey_exports_are_private_and_expire(deps: Deps, dispatcher: Dispatcher) -> None:
    data_dir = deps.settings.data_dir
    sid = await _survey(deps)
    await make_member(deps, user_id="boss", unit="khoi", grants=((Role.CADRE, "khoi"),))
    boss = Chat(dispatcher, "boss")
    made = []
    for button in ("Biểu đồ", "Tải CSV", "Tải Excel"):
        await boss.press_raw(f"sv.r|{sid}")
        await boss.press(button)
        reply = boss.replies[0]
        attachment = reply.photo or reply.document
        assert attachment is not None and attachment.path is not None
        made.append(attachment.path)
    assert sorted(p.suffix for p in made) == [".csv", ".png", ".xlsx"]
    assert all(p.name.startswith("khao-sat-") for p in made)
    assert_private(data_dir)
    exports = data_dir / "exports"
    # Once older than the TTL they are deleted, by the sweeper and by the next export.
    old = time.time() - EXPORT_TTL - 5
    for path in made[:2]:
        os.utime(path, (old, old))
    stop = asyncio.Event()
    task = asyncio.create_task(ExportSweeper(exports, every=0.05).run(stop))
    for _ in range(100):  # bounded: 5 s
        if not made[0].exists() and not made[1].exists():
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert not made[0].exists() and not made[1].exists() and made[2].exists()
    os.utime(made[2], (old, old))
    await boss.press_raw(f"sv.r|{sid}")
    await boss.press("Tải CSV")
    assert not made[2].exists() and len(list(exports.iterdir())) == 1


def test_an_existing_open_data_dir_is_closed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    os.chmod(data_dir, 0o755)
    deployment_secret(None, data_dir)
    assert_private(data_dir)
    assert deployment_secret("configured", tmp_path / "new" / "data") == b"configured"
    assert mode(tmp_path / "new" / "data") == 0o700 and mode(tmp_path / "new") == 0o700


async def test_file_store_and_proposal_exports_are_private(tmp_path: Path) -> None:
    root = tmp_path / "data"
    private_dir(root)
    await FileStore(root / "files").put(b"%PDF-1.4 noi dung", "tai-lieu.pdf")
    assert_private(root)
    operator = tmp_path / "operator"
    operator.mkdir(mode=0o755)
    os.chmod(operator, 0o755)
    write_csv(operator / "de-xuat.csv", [["a"] * 5])
    write_xlsx(operator / "de-xuat.xlsx", [["a"] * 5])
    assert mode(operator / "de-xuat.csv") == 0o600 and mode(operator / "de-xuat.xlsx") == 0o600
    assert mode(operator) == 0o755  # the operator's own folder is left alone


async def test_the_embedded_store_files_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    deployment_secret(None, data_dir)
    async with EmbeddedValkey(data_dir) as store:
        assert store.url is not None
        from redis.asyncio import Redis

        client = Redis.from_url(store.url)
        await client.set("dv:x", "1")
        await client.aclose()
    assert list((data_dir / "valkey" / "appendonlydir").iterdir())
    assert_private(data_dir)


def test_sweep_keeps_fresh_files(tmp_path: Path) -> None:
    (tmp_path / "fresh.csv").write_text("x")
    old = tmp_path / "old.png"
    old.write_text("x")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert sweep(tmp_path, max_age=600) == [old]
    assert [p.name for p in tmp_path.iterdir()] == ["fresh.csv"]
    assert sweep(tmp_path / "missing") == []
