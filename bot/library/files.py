"""Attachments on disk, named by their SHA-256, and the platforms' size and length limits.

Files live under ``DVBOT_DATA_DIR/files`` rather than in Redis: Redis keeps everything in
memory, and a library of PDFs would crowd out the data that has to be there. The name is the
content hash, so importing the same file twice stores it once, and a write is a temp file plus
an atomic rename, so a crash never leaves half a file under a real name.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import tempfile
from pathlib import Path

from bot.library.models import StoredFile
from bot.privacy.files import private_dir

MB = 1024 * 1024
# Longest message each channel shows in one piece (Telegram: 4,096 characters).
MESSAGE_LIMIT = {"telegram": 4096}
DEFAULT_MESSAGE_LIMIT = 4096
# Largest file a bot may fetch from each platform (Telegram's getFile stops at 20 MB); it is
# also below what the bot may upload (50 MB), so anything accepted can be sent back out.
UPLOAD_LIMIT = {"telegram": 20 * MB}
DEFAULT_UPLOAD_LIMIT = 20 * MB


class FileTooBig(ValueError):
    """The file is larger than the platform lets a bot handle."""

    def __init__(self, filename: str, size: int) -> None:
        super().__init__(f"{filename}: {size} bytes")
        self.size = size


def message_limit(channel: str) -> int:
    """Longest message the channel shows in one piece."""
    return MESSAGE_LIMIT.get(channel, DEFAULT_MESSAGE_LIMIT)


def upload_limit(channel: str) -> int:
    """Largest attachment accepted from (and sendable to) the channel."""
    return UPLOAD_LIMIT.get(channel, DEFAULT_UPLOAD_LIMIT)


def human_size(size: int) -> str:
    """'3,2 MB' the way Vietnamese readers write decimals."""
    if size >= MB:
        return f"{size / MB:.1f} MB".replace(".", ",")
    return f"{max(1, size // 1024)} KB"


class FileStore:
    """Content-addressed files under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, stored: StoredFile) -> Path:
        """Where a stored file lives."""
        suffix = Path(stored.filename).suffix.lower()[:10]
        return self.root / stored.sha256[:2] / f"{stored.sha256}{suffix}"

    async def put(self, data: bytes, filename: str, *, limit: int = DEFAULT_UPLOAD_LIMIT
                  ) -> StoredFile:
        """Store bytes (no-op if the same content is already there)."""
        if len(data) > limit:
            raise FileTooBig(filename, len(data))
        mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = StoredFile(sha256=hashlib.sha256(data).hexdigest(), filename=filename,
                            size=len(data), mime=mime)
        await asyncio.to_thread(self._write, self.path(stored), data)
        return stored

    async def put_file(self, source: Path, *, limit: int = DEFAULT_UPLOAD_LIMIT) -> StoredFile:
        """Store a file from disk (content files' attachments)."""
        data = await asyncio.to_thread(source.read_bytes)
        return await self.put(data, source.name, limit=limit)

    @staticmethod
    def _write(target: Path, data: bytes) -> None:
        if target.is_file() and target.stat().st_size == len(data):
            return
        private_dir(target.parent)  # 0700: attachments of cadres' drafts and members' photos
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def describe(path: Path) -> StoredFile:
    """Hash a file on disk without storing it (used by `dvbot content check`)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return StoredFile(sha256=digest.hexdigest(), filename=path.name, size=path.stat().st_size,
                      mime=mime)
