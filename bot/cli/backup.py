"""The `dvbot backup` and `dvbot restore` subcommands (the work is in bot.ops.backup)."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from bot.ops.backup import BackupError, export, parse, restore
from bot.settings import Settings
from bot.storage.connection import open_store

PREFIX = "dv"  # real data only; the console demo's namespace is not worth keeping


def add_parsers(sub: Any) -> None:
    """Register `backup FILE` and `restore FILE [--force]`."""
    backup = sub.add_parser("backup", help="sao lưu toàn bộ dữ liệu ra tệp JSON lines")
    backup.add_argument("file", type=Path)
    backup.add_argument("--no-pause", action="store_true",
                        help="không tạm dừng ghi trong lúc sao lưu (không bảo đảm nhất quán)")
    restore_cmd = sub.add_parser("restore", help="khôi phục dữ liệu từ tệp sao lưu vào kho "
                                                  "trống")
    restore_cmd.add_argument("file", type=Path)
    restore_cmd.add_argument("--force", action="store_true",
                             help="ghi đè cả khi kho đã có dữ liệu")


async def run_backup(settings: Settings, args: argparse.Namespace) -> int:
    """Write the backup next to FILE, then move it into place (never a half-written FILE)."""
    path: Path = args.file
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    count = 0
    async with open_store(settings) as redis:
        # 0600: the file holds members' names and accounts.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            async for line in export(redis, PREFIX, pause=not args.no_pause):
                out.write(line + "\n")
                count += 1
            out.flush()
            os.fsync(out.fileno())
    os.replace(tmp, path)
    print(f"Đã sao lưu {count - 2} khóa vào {path}.")
    return count - 2


async def run_restore(settings: Settings, args: argparse.Namespace) -> int:
    """Check the whole file first, then write it into the store."""
    path: Path = args.file
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except OSError as exc:
        raise BackupError(f"không đọc được {path}: {exc.strerror}") from None
    header, records = parse(text.splitlines())
    if header.get("prefix") != PREFIX:
        raise BackupError(f"tệp sao lưu của tiền tố {header.get('prefix')!r}, không phải "
                          f"{PREFIX!r}")
    async with open_store(settings) as redis:
        count = await restore(redis, PREFIX, records, force=args.force)
    print(f"Đã khôi phục {count} khóa từ {path} (sao lưu lúc {header.get('created')}).")
    return count
