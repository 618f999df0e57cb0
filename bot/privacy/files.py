"""Files on disk that only the bot's own user may read: the data directory and everything in it
(0700 folders, 0600 files), and exports that are deleted once they have been sent.

A survey export, a chart or a proposal list names members and their answers; on a shared
machine a 0644 file under a 0755 folder is readable by every local account.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("dvbot.files")

EXPORT_TTL = 15 * 60  # seconds an export stays on disk: long enough to be sent (and resent)
SWEEP_EVERY = 60.0


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parents as 0700, and make an existing `path` 0700."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    try:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o700)
    except PermissionError:  # someone else's folder (a root-owned mount): say so, go on
        log.warning("%s is readable by other users and not ours to change (chmod 700 it)",
                    path)
    return path


def write_private(path: Path, data: bytes) -> Path:
    """Write `data` to `path` atomically, mode 0600 from the first byte (a missing folder is
    created 0700; an existing one is left as it is: it may be the operator's own)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp: 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def sweep(folder: Path, max_age: float = EXPORT_TTL, now: float | None = None) -> list[Path]:
    """Delete the files in `folder` older than `max_age` seconds; return what was deleted."""
    cutoff = (time.time() if now is None else now) - max_age
    removed = []
    for path in _files(folder):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
    return removed


def _files(folder: Path) -> Iterable[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_file()]
    except FileNotFoundError:
        return []


class ExportSweeper:
    """A background service deleting exports once they are older than EXPORT_TTL."""

    def __init__(self, folder: Path, max_age: float = EXPORT_TTL,
                 every: float = SWEEP_EVERY) -> None:
        self.folder, self.max_age, self.every = folder, max_age, every

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep now and then every `every` seconds until `stop` is set."""
        while not stop.is_set():
            removed = await asyncio.to_thread(sweep, self.folder, self.max_age)
            if removed:
                log.info("deleted %d expired export(s) from %s", len(removed), self.folder)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every)
