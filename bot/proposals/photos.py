"""Photos sent with a proposal: refused unless Pillow reads them as a JPEG, PNG or WebP image
and they fit the size limit; kept in the file store by their hash."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from bot.library.files import FileStore
from bot.proposals.models import Photo

FORMATS = {"JPEG": (".jpg", "image/jpeg"), "PNG": (".png", "image/png"),
           "WEBP": (".webp", "image/webp")}
MAX_PIXELS = 50_000_000  # far above any phone photo; refuses decompression bombs


class BadPhoto(ValueError):
    """Not an image we accept; the message is safe to show."""


def inspect(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) of an accepted image, or BadPhoto."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()  # checks the file's structure without decoding every pixel
            kind, (width, height) = str(image.format), image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        raise BadPhoto("Tệp này không phải ảnh hợp lệ.") from exc
    if kind not in FORMATS:
        raise BadPhoto(f"Ảnh định dạng {kind} chưa được nhận; chỉ nhận JPEG, PNG hoặc WebP.")
    if width * height > MAX_PIXELS:
        raise BadPhoto("Ảnh có kích thước điểm ảnh quá lớn.")
    return kind, width, height


async def keep(files: FileStore, data: bytes, limit: int, number: int) -> Photo:
    """Check and store one photo."""
    if len(data) > limit:
        raise BadPhoto("Ảnh vượt dung lượng cho phép.")
    kind, width, height = inspect(data)
    suffix, _mime = FORMATS[kind]
    stored = await files.put(data, f"anh-{number}{suffix}", limit=limit)
    return Photo(file=stored, width=width, height=height)
