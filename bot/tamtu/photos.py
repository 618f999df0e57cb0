"""A member's photo, stripped of everything but its pixels before it is kept.

Phones write the place (GPS), the time, the camera's model and serial number into a photo's
metadata, enough to name an anonymous sender. Pillow decodes the picture and a new JPEG is
written from the pixels alone, so nothing of the original file survives but what it shows."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.library.files import FileStore
from bot.library.models import StoredFile

MAX_PIXELS = 50_000_000  # far above any phone photo; refuses decompression bombs
MAX_SIDE = 2560  # larger photos are scaled down (and lose even more of their fingerprint)


class BadPhoto(ValueError):
    """Not an image we accept; the message is safe to show."""


def strip(data: bytes) -> bytes:
    """A fresh JPEG made from the picture's pixels only (turned upright first)."""
    try:
        with Image.open(io.BytesIO(data)) as source:
            if source.width * source.height > MAX_PIXELS:
                raise BadPhoto("Ảnh có kích thước điểm ảnh quá lớn.")
            upright = ImageOps.exif_transpose(source) or source
            pixels = upright.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        if isinstance(exc, BadPhoto):
            raise
        raise BadPhoto("Tệp này không phải ảnh hợp lệ.") from exc
    pixels.thumbnail((MAX_SIDE, MAX_SIDE))
    clean = Image.new("RGB", pixels.size)
    clean.paste(pixels)  # a new image: no info dict, no EXIF, no ICC profile carried over
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=85)
    return out.getvalue()


async def keep(files: FileStore, data: bytes, limit: int) -> StoredFile:
    """Strip and store one photo."""
    if len(data) > limit:
        raise BadPhoto("Ảnh vượt dung lượng cho phép.")
    return await files.put(strip(data), "anh.jpg", limit=limit)
