"""`dvbot proposals export --format csv|xlsx --out FILE`: proposals with their state."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.deps import Deps
from bot.proposals.export import rows_of, write_csv, write_xlsx

BATCH = 500


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the `proposals` subcommands to the dvbot parser."""
    proposals = sub.add_parser("proposals", help="đề xuất mô hình Dân vận khéo").add_subparsers(
        dest="action", required=True)
    export = proposals.add_parser("export", help="xuất danh sách đề xuất và trạng thái")
    export.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    export.add_argument("--out", type=Path, required=True, help="tệp kết quả")


async def run_export(deps: Deps, args: argparse.Namespace) -> None:
    """Write every proposal, oldest first."""
    codes = await deps.proposals.store.all_codes()
    found = []
    for start in range(0, len(codes), BATCH):
        found += await deps.proposals.store.many(codes[start:start + BATCH])
    rows = rows_of(found, await deps.units.tree())
    out: Path = args.out
    writer = write_xlsx if args.format == "xlsx" else write_csv
    await asyncio.to_thread(writer, out, rows)
    print(f"Đã xuất {len(rows)} đề xuất vào {out}.")
