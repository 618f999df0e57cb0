"""`dvbot proposals export --format csv|xlsx --out FILE`: proposals with their state;
`dvbot proposals report [--year N] [--unit ID] [--out FILE.xlsx]`: the year-end report of the
"Dân vận khéo" movement for the whole tree (or one unit), as text and XLSX."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.deps import Deps
from bot.formatting import VIETNAM, to_plain
from bot.proposals.annual import every_proposal, gather, text, to_xlsx
from bot.proposals.export import rows_of, write_csv, write_xlsx
from bot.proposals.models import Proposal, State

BATCH = 500


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the `proposals` subcommands to the dvbot parser."""
    proposals = sub.add_parser("proposals", help="đề xuất mô hình Dân vận khéo").add_subparsers(
        dest="action", required=True)
    export = proposals.add_parser("export", help="xuất danh sách đề xuất và trạng thái")
    export.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    export.add_argument("--out", type=Path, required=True, help="tệp kết quả")
    report = proposals.add_parser("report", help="báo cáo phong trào Dân vận khéo cả năm")
    report.add_argument("--year", type=int, default=None, help="năm (mặc định: năm nay)")
    report.add_argument("--unit", default=None,
                        help="mã đơn vị (mặc định: mọi đơn vị cấp cao nhất)")
    report.add_argument("--out", type=Path, default=None,
                        help="tệp XLSX (một tệp mỗi đơn vị nếu có nhiều đơn vị cao nhất)")


async def last_criteria(deps: Deps, found: list[Proposal]) -> dict[str, dict[str, int]]:
    """The criteria of the last decision that assessed each proposal (from its history)."""
    out: dict[str, dict[str, int]] = {}
    for p in found:
        if p.state is State.SUBMITTED:
            continue  # nobody has assessed it yet
        for event in reversed(await deps.proposals.store.history(p.code)):
            if event.criteria:
                out[p.code] = event.criteria
                break
    return out


async def run_export(deps: Deps, args: argparse.Namespace) -> None:
    """Write every proposal, oldest first."""
    codes = await deps.proposals.store.all_codes()
    found = []
    for start in range(0, len(codes), BATCH):
        found += await deps.proposals.store.many(codes[start:start + BATCH])
    rows = rows_of(found, await deps.units.tree(), await last_criteria(deps, found))
    out: Path = args.out
    writer = write_xlsx if args.format == "xlsx" else write_csv
    await asyncio.to_thread(writer, out, rows)
    print(f"Đã xuất {len(rows)} đề xuất vào {out}.")


async def run_report(deps: Deps, args: argparse.Namespace) -> None:
    """Print the report of every top unit (or the one asked for); write the XLSX if asked."""
    tree = await deps.units.tree()
    year: int = args.year or deps.clock().astimezone(VIETNAM).year
    if args.unit is not None and tree.get(args.unit) is None:
        from bot.cli import CliError  # bot.cli imports this module: resolved at call time
        raise CliError(f"Không có đơn vị {args.unit!r}.")
    roots = [args.unit] if args.unit else tree.roots()
    proposals = await every_proposal(deps.proposals.store)
    for root in roots:
        report = await gather(deps.dvk, proposals, tree, root, year)
        print(to_plain(text(report, tree)))
        print()
        if args.out is not None:
            out: Path = args.out if len(roots) == 1 else args.out.with_stem(
                f"{args.out.stem}-{root}")
            await asyncio.to_thread(out.write_bytes, to_xlsx(report, tree))
            print(f"Đã ghi {out}.")
