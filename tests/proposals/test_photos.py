"""Proposal photos are re-encoded: a phone JPEG's GPS position, camera maker and serial, and
bytes appended after the image (a zip) never reach the file store or the reviewers."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from bot.library.files import FileStore
from bot.proposals.photos import BadPhoto, keep

MAKER = "SecretCamMaker"
SERIAL = "SN-7731-XYZ"


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("danh-sach.txt", "noi dung an")
    return out.getvalue()


def _gps_jpeg(orientation: int = 1) -> bytes:
    """A camera JPEG: EXIF with maker, serial and a GPS position (Hà Nội), then a zip."""
    image = Image.new("RGB", (80, 40), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = MAKER  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x0112] = orientation  # Orientation
    exif[0xA431] = SERIAL  # BodySerialNumber (in the Exif IFD, Pillow also accepts it here)
    exif[0x8825] = {1: "N", 2: (21.0, 1.0, 42.0), 3: "E", 4: (105.0, 51.0, 12.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue() + _zip()


def test_the_sample_really_carries_gps_and_a_zip() -> None:
    """Guard for the test itself: the input has what must be removed."""
    data = _gps_jpeg()
    with Image.open(io.BytesIO(data)) as image:
        gps = image.getexif().get_ifd(0x8825)
    assert gps and MAKER.encode() in data and zipfile.is_zipfile(io.BytesIO(data))


async def test_gps_maker_data_and_appended_zip_are_dropped(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files")
    photo = await keep(files, _gps_jpeg(), limit=5 << 20, number=1)
    stored = files.path(photo.file).read_bytes()
    assert MAKER.encode() not in stored and SERIAL.encode() not in stored
    assert b"PK\x03\x04" not in stored and not zipfile.is_zipfile(io.BytesIO(stored))
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and image.size == (80, 40)
        assert not image.getexif() and "exif" not in image.info
        red, green, blue = image.convert("RGB").getpixel((40, 20))  # type: ignore[misc]
        assert red > 150 and green < 80 and blue < 80  # still the same picture
    assert photo.file.size == len(stored) and (photo.width, photo.height) == (80, 40)


async def test_a_rotated_photo_stays_upright_without_its_orientation_tag(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files")
    photo = await keep(files, _gps_jpeg(orientation=6), limit=5 << 20, number=1)  # 90° turn
    with Image.open(files.path(photo.file)) as image:
        assert image.size == (40, 80) and not image.getexif()


async def test_png_text_chunks_are_dropped(tmp_path: Path) -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Nguyen Van Bi Mat")
    out = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 128)).save(out, format="PNG", pnginfo=info)
    files = FileStore(tmp_path / "files")
    photo = await keep(files, out.getvalue() + b"trailing secret", limit=1 << 20, number=2)
    stored = files.path(photo.file).read_bytes()
    assert b"Nguyen Van Bi Mat" not in stored and b"trailing secret" not in stored


async def test_not_an_image_is_still_refused(tmp_path: Path) -> None:
    with pytest.raises(BadPhoto):
        await keep(FileStore(tmp_path), _zip(), limit=1 << 20, number=1)
