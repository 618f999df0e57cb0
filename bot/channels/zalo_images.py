"""Photos as the Zalo OA takes them: JPG or PNG of at most 1 MB (its upload endpoint and media
templates refuse anything else). Other formats (WebP, HEIC, GIF...) and bigger files are
re-encoded as JPEG with Pillow, smaller and smaller until they fit."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 1024 * 1024
SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


class NotConvertible(ValueError):
    """The file is no image Pillow can read."""


def uploadable_image(path: Path, limit: int = MAX_BYTES) -> tuple[bytes, str]:
    """The photo's bytes and MIME type, converted to a JPEG ≤ `limit` when needed."""
    data = path.read_bytes()
    for magic, mime in SIGNATURES.items():
        if data.startswith(magic) and len(data) <= limit:
            return data, mime
    return to_jpeg(data, limit), "image/jpeg"


def to_jpeg(data: bytes, limit: int = MAX_BYTES) -> bytes:
    """Re-encode any image as a JPEG of at most `limit` bytes (no metadata kept)."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGBA")
    except (UnidentifiedImageError, OSError) as exc:
        raise NotConvertible(str(exc)) from exc
    flat = Image.new("RGB", image.size, (255, 255, 255))
    flat.paste(image, mask=image.getchannel("A"))
    for _ in range(20):
        for quality in (85, 70, 55):
            out = io.BytesIO()
            flat.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= limit:
                return out.getvalue()
        flat = flat.resize((max(1, flat.width * 4 // 5), max(1, flat.height * 4 // 5)))
    raise NotConvertible("could not fit the image in the size limit")
