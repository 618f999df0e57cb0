"""`dvbot proposals export`: every proposal with its state, as CSV (UTF-8 with BOM, so Excel
opens Vietnamese correctly) or XLSX, for reports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from openpyxl import Workbook

from bot.formatting import vn_datetime
from bot.org.tree import OrgTree
from bot.privacy.files import write_private
from bot.proposals.models import Proposal

HEADER = ["Mã", "Tên mô hình", "Lĩnh vực", "Đơn vị", "Chủ thể thực hiện", "Người đề xuất",
          "Trạng thái", "Cấp đang xét", "Ngày gửi", "Cập nhật", "Cách làm", "Hiệu quả",
          "Số ảnh", "Trả lời chính thức"]


def rows_of(proposals: Iterable[Proposal], tree: OrgTree) -> list[list[str]]:
    """One row per proposal, in HEADER's order."""
    out: list[list[str]] = []
    for p in proposals:
        unit = tree.get(p.unit)
        reviewing = tree.get(p.reviewing_unit)
        out.append([p.code, p.name, p.area.label if p.area else "", unit.name if unit else p.unit,
                    p.executor, p.author_name, p.state.label,
                    reviewing.name if reviewing else p.reviewing_unit,
                    vn_datetime(p.submitted_at), vn_datetime(p.updated_at), p.method, p.results,
                    str(len(p.photos)), p.answer])
    return out


def write_csv(path: Path, rows: list[list[str]]) -> None:
    """CSV with a BOM and the header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(_safe(r) for r in rows)
    write_private(path, buffer.getvalue().encode("utf-8-sig"))  # members' names: owner only


def write_xlsx(path: Path, rows: list[list[str]]) -> None:
    """An XLSX workbook with one sheet."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "De xuat"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(_safe(row))
    out = io.BytesIO()
    book.save(out)
    write_private(path, out.getvalue())


def _safe(row: list[str]) -> list[str]:
    """Defuse text a spreadsheet would run as a formula (user-typed fields start with '=')."""
    return ["'" + cell if cell[:1] in ("=", "+", "-", "@") else cell for cell in row]
