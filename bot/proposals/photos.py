"""Photos sent with a proposal: refused unless Pillow reads them as a JPEG, PNG or WebP image
and they fit the size limit; re-encoded from their pixels and kept in the file store by hash.

Re-encoding is what makes a photo safe to keep and forward: a phone's JPEG carries EXIF (GPS
position, time, camera maker and serial), and anything appended after the image data (a zip,
say) survives a byte-for-byte copy. Only the pixels are written back, in the same format,
turned upright first since the EXIF orientation tag goes with the rest.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.library.files import FileStore
from bot.proposals.models import Photo

FORMATS = {"JPEG": (".jpg", "image/jpeg"), "PNG": (".png", "image/png"),
           "WEBP": (".webp", "image/webp")}
MAX_PIXELS = 50_000_000  # far above any phone photo; refuses decompression bombs
_MODES = {"JPEG": ("RGB", "L"), "PNG": ("RGB", "RGBA", "L", "LA", "P", "1"),
          "WEBP": ("RGB", "RGBA")}
_FALLBACK_MODE = {"JPEG": "RGB", "PNG": "RGBA", "WEBP": "RGBA"}
_READ_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError,
                Image.DecompressionBombError)


class BadPhoto(ValueError):
    """Not an image we accept; the message is safe to show."""


def inspect(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) of an accepted image, or BadPhoto."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()  # checks the file's structure without decoding every pixel
            kind, (width, height) = str(image.format), image.size
    except _READ_ERRORS as exc:
        raise BadPhoto("Tệp này không phải ảnh hợp lệ.") from exc
    if kind not in FORMATS:
        raise BadPhoto(f"Ảnh định dạng {kind} chưa được nhận; chỉ nhận JPEG, PNG hoặc WebP.")
    if width * height > MAX_PIXELS:
        raise BadPhoto("Ảnh có kích thước điểm ảnh quá lớn.")
    return kind, width, height


def reencode(data: bytes, kind: str) -> tuple[bytes, int, int]:
    """The image's pixels alone, upright, in the same format: (bytes, width, height)."""
    try:
        with Image.open(io.BytesIO(data)) as source:
            image = ImageOps.exif_transpose(source)  # a copy without the orientation tag
    except _READ_ERRORS as exc:
        raise BadPhoto("Tệp này không phải ảnh hợp lệ.") from exc
    if image.mode not in _MODES[kind]:
        image = image.convert(_FALLBACK_MODE[kind])
    out = io.BytesIO()
    # No exif=, icc_profile= or pnginfo=: Pillow writes none of the source's metadata.
    if kind == "JPEG":
        image.save(out, format="JPEG", quality=88, optimize=True)
    elif kind == "PNG":
        image.save(out, format="PNG", optimize=True)
    else:
        image.save(out, format="WEBP", quality=88)
    return out.getvalue(), image.width, image.height


async def keep(files: FileStore, data: bytes, limit: int, number: int) -> Photo:
    """Check, clean and store one photo."""
    if len(data) > limit:
        raise BadPhoto("Ảnh vượt dung lượng cho phép.")
    kind, _width, _height = inspect(data)
    clean, width, height = reencode(data, kind)
    suffix, _mime = FORMATS[kind]
    stored = await files.put(clean, f"anh-{number}{suffix}", limit=max(limit, len(clean)))
    return Photo(file=stored, width=width, height=height)
