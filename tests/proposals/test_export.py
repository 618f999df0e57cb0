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


def test_report_for_the_whole_tree(monkeypatch: pytest.MonkeyPatch, valkey_url: str,
                                   tmp_path: Path, redis: Redis,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DVBOT_REDIS_URL", valkey_url)
    monkeypatch.chdir(tmp_path)
    asyncio.run(_seed(valkey_url, tmp_path / "data"))
    assert main(["proposals", "report", "--year", "2026", "--out", "bao-cao.xlsx"]) == 0
    out = capsys.readouterr().out
    assert "Báo cáo phong trào “Dân vận khéo” năm 2026" in out
    assert "Đăng ký 0 · đã xây dựng 0 · đề xuất 2 · được công nhận 0" in out
    assert "• Đảng bộ cơ sở A: 0 / 0 / 2 / 0 / 0" in out
    sheet = load_workbook(tmp_path / "bao-cao.xlsx")["Theo linh vuc"]
    assert [c.value for c in sheet[3]][1:4] == ["Kinh tế", 0, 0]
    assert main(["proposals", "report", "--unit", "khong-co"]) == 1
