"""`dvbot content check` and `dvbot content import`: the library files, validated and loaded."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.deps import Deps
from bot.library.importer import ContentError, import_library
from bot.library.loader import LoadResult, load_library
from bot.library.models import Directive, Material
from bot.settings import Settings
from bot.surveys.templates import TemplateError, load_templates


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the `content` subcommands to the dvbot parser."""
    content = sub.add_parser("content", help="thư viện văn bản, tài liệu").add_subparsers(
        dest="action", required=True)
    for name, text in (("check", "kiểm tra toàn bộ tệp nội dung, liệt kê mọi lỗi"),
                       ("import", "nạp nội dung vào kho (chạy lại nhiều lần vẫn an toàn)")):
        command = content.add_parser(name, help=text)
        command.add_argument("--dir", type=Path, default=None,
                             help="thư mục nội dung (mặc định: DVBOT_CONTENT_DIR)")


def folder(settings: Settings, args: argparse.Namespace) -> Path:
    """The content folder: --dir, else the setting."""
    chosen: Path | None = args.dir
    return chosen if chosen is not None else settings.content_path()


def check(settings: Settings, args: argparse.Namespace) -> int:
    """Validate every file without touching the store; exit code 1 if anything is wrong."""
    root = folder(settings, args)
    result = load_library(root)
    templates, survey_problems = _survey_templates(root)  # content/surveys/*.yaml
    if result.problems or survey_problems:
        report_problems(result.problems + survey_problems)
        return 1
    print(f"{root}: hợp lệ — {_counts(result)}.")
    print(f"{root / 'surveys'}: hợp lệ — {templates} mẫu khảo sát.")
    return 0


def _survey_templates(root: Path) -> tuple[int, list[str]]:
    """How many survey templates are valid, or every problem (named surveys/<file>: ...)."""
    try:
        return len(load_templates(root / "surveys")), []
    except TemplateError as exc:
        return 0, [f"surveys/{p}" for p in exc.problems]


async def run_import(deps: Deps, args: argparse.Namespace) -> None:
    """Validate, then load into the store (all or nothing; unchanged files write nothing)."""
    root = folder(deps.settings, args)
    result = load_library(root)
    summary = await import_library(deps.library, result, await deps.units.tree(), deps.clock())
    await deps.audit.record("cli", "content_import", dir=str(root), added=str(summary.added),
                            updated=str(summary.updated))
    print(f"Đã nạp {root} ({_counts(result)}): {summary.added} mới, {summary.updated} cập nhật, "
          f"{summary.unchanged} không đổi.")


def report_problems(problems: list[str]) -> None:
    """Print every problem, one per line, to stderr."""
    print(f"dvbot: nội dung có {len(problems)} lỗi, chưa nạp gì:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)


def _counts(result: LoadResult) -> str:
    return (f"{result.count(Directive)} văn bản chỉ đạo, "
            f"{result.count(Material)} tài liệu học tập")


__all__ = ["ContentError", "add_parser", "check", "report_problems", "run_import"]
