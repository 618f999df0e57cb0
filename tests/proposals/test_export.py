"""`dvbot proposals export` writes every proposal with its state, as CSV (UTF-8 with BOM)
and XLSX, with spreadsheet formulas defused."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook
from redis.asyncio import Redis

from bot.cli import main
from bot.deps import Links, build_deps
from bot.settings import Settings
from bot.storage.connection import connect
from bot.storage.keys import Keys
from tests.conftest import UNITS, make_member
from tests.proposals.helpers import content


async def _seed(url: str, data_dir: Path) -> None:
    redis = connect(url)
    try:
        settings = Settings(_env_file=None, redis_url=url, data_dir=data_dir)  # type: ignore[call-arg]
        deps = build_deps(settings, redis, Keys("dv"), Links())
        await deps.units.import_units(UNITS)
        author = await make_member(deps, user_id="a", unit="cb-a1", name="Lê Thị Tác Giả")
        tree = await deps.units.tree()
        await deps.proposals.submit(author, content(), tree, deps.clock())
        await deps.proposals.submit(author, content(name="=HYPERLINK(\"x\")"), tree,
                                    deps.clock())
    finally:
        await redis.aclose()


def test_export_csv_and_xlsx(monkeypatch: pytest.MonkeyPatch, valkey_url: str,
                             tmp_path: Path, redis: Redis) -> None:
    monkeypatch.setenv("DVBOT_REDIS_URL", valkey_url)
    monkeypatch.chdir(tmp_path)
    asyncio.run(_seed(valkey_url, tmp_path / "data"))
    assert main(["proposals", "export", "--format", "csv", "--out", "de-xuat.csv"]) == 0
    raw = (tmp_path / "de-xuat.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Vietnamese right
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0][:3] == ["Mã", "Tên mô hình", "Lĩnh vực"]
    assert [r[0] for r in rows[1:]] == ["DVK-2026-00001", "DVK-2026-00002"]
    assert rows[1][6] == "Đã gửi, chờ thẩm định" and rows[1][3] == "Chi bộ A1"
    assert rows[2][1].startswith("'=")  # a formula typed by a member stays text
    assert main(["proposals", "export", "--format", "xlsx", "--out", "de-xuat.xlsx"]) == 0
    sheet = load_workbook(tmp_path / "de-xuat.xlsx").active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1][0] == "DVK-2026-00001" and values[1][5] == "Lê Thị Tác Giả"
    assert len(values) == 3
