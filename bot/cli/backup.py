"""The `dvbot backup` and `dvbot restore` subcommands (the work is in bot.ops)."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from bot.ops.backup import BackupError, export, signing_key
from bot.ops.backup_check import read
from bot.ops.point_in_time import point_in_time
from bot.ops.restore import restore
from bot.ops.snapshot import sweep
from bot.privacy.secret import deployment_secret
from bot.settings import Settings
from bot.storage.connection import open_store

PREFIX = "dv"  # real data only; the console demo's namespace is not worth keeping


def add_parsers(sub: Any) -> None:
    """Register `backup FILE` and `restore FILE [--force] [--ignore-signature]`."""
    backup = sub.add_parser("backup", help="sao lưu toàn bộ dữ liệu ra tệp JSON lines có chữ ký")
    backup.add_argument("file", type=Path)
    backup.add_argument("--no-pause", action="store_true",
                        help="đọc thẳng kho đang chạy, không chụp ảnh kho (không bảo đảm nhất "
                             "quán)")
    restore_cmd = sub.add_parser("restore", help="khôi phục dữ liệu từ tệp sao lưu vào kho "
                                                  "trống (tất cả hoặc không gì cả)")
    restore_cmd.add_argument("file", type=Path)
    restore_cmd.add_argument("--force", action="store_true",
                             help="ghi đè cả khi kho đã có dữ liệu")
    restore_cmd.add_argument("--ignore-signature", action="store_true",
                             help="nhận tệp không có chữ ký hoặc ký bằng bí mật khác (vẫn kiểm "
                                  "tra SHA-256)")


def _key(settings: Settings) -> bytes:
    configured = settings.survey_secret.get_secret_value() if settings.survey_secret else None
    return signing_key(deployment_secret(configured, settings.data_dir))


async def run_backup(settings: Settings, args: argparse.Namespace) -> int:
    """Write the backup next to FILE, then move it into place (never a half-written FILE)."""
    path: Path = args.file.absolute()
    sweep(path.parent, path.name)  # what a killed backup of this file left behind
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    scratch = path.with_name(f".{path.name}.{os.getpid()}.snap")
    key, count, consistent = _key(settings), 0, True
    try:
        async with open_store(settings) as redis, \
                point_in_time(redis, scratch, live=args.no_pause) as source:
            # 0600: the file holds members' names and accounts.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                async for line in export(source.clients, PREFIX, key,
                                         consistent=lambda: source.consistent):
                    out.write(line + "\n")
                    count += 1
                out.flush()
                os.fsync(out.fileno())
            consistent = source.consistent
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"Đã sao lưu {count - 2} khóa vào {path}.")
    if not consistent:
        print("Lưu ý: bản sao lưu này đọc từ kho đang chạy, không phải một thời điểm duy nhất "
              "(máy chủ không cho chụp ảnh kho).")
    return count - 2


async def run_restore(settings: Settings, args: argparse.Namespace) -> int:
    """Check the whole file first, then write it into the store, all or nothing."""
    path: Path = args.file
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except OSError as exc:
        raise BackupError(f"không đọc được {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise BackupError(f"{path} không phải tệp văn bản UTF-8") from None
    # split("\n"), not splitlines(): a value may hold U+2028 or other line breaks JSON keeps.
    backup = read(text.split("\n"), PREFIX, _key(settings),
                  ignore_signature=args.ignore_signature)
    async with open_store(settings) as redis:
        count = await restore(redis, PREFIX, backup.records, force=args.force)
    print(f"Đã khôi phục {count} khóa từ {path} (sao lưu lúc {backup.header.get('created')}).")
    if not backup.signed:
        print("Lưu ý: chữ ký của tệp không được kiểm tra (--ignore-signature).")
    return count
