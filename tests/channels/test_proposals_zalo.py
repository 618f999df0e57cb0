"""Proposals over the Zalo Bot Platform, end to end over real HTTP: a member fills the «Đề xuất
mô hình Dân vận khéo» form by typed numbers and text and sends a photo as a URL (the stand-in
serves a real JPEG), a reviewer on Zalo approves it, the member gets the notices from the
delivery workers, and the photo goes back out as a signed URL of the bot's own web server
(or as a note when no public URL is configured)."""

from __future__ import annotations

import io
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from PIL import Image
from redis.asyncio import Redis

from bot.org.models import Role
from tests.channels.zalo_live import (
    ZALO_TOKEN,
    Running,
    number_of,
    start_polling,
)
from tests.channels.zalo_live import say_as as say
from tests.conftest import free_port, make_member
from tests.standin.zalo_bot import ZaloBotStandin

MEMBER, REVIEWER = "zu-author", "zu-reviewer"
NAME = "Dân vận khéo trong chuyển đổi số"


def jpeg() -> bytes:
    """A real JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
async def standin() -> AsyncIterator[ZaloBotStandin]:
    """The Bot Platform stand-in, serving a JPEG, a web page and a PDF."""
    async with ZaloBotStandin(ZALO_TOKEN) as server:
        server.images["anh.jpg"] = (jpeg(), "image/jpeg")
        server.images["trang.html"] = (b"<html><body>Zalo</body></html>", "text/html")
        server.images["tailieu.pdf"] = (b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\n",
                                        "application/pdf")
        yield server


async def _run(standin: ZaloBotStandin, redis: Redis, valkey_url: str, data: Path,
               **extra: object) -> Running:
    # One approval level: an approved model is recognised and enters the gallery.
    bot = await start_polling(standin, redis, valkey_url, data, proposal_levels="co_so", **extra)
    await make_member(bot.deps, channel="zalo", user_id=MEMBER, unit="cb-a1",
                      name="Lê Thị Tác Giả")
    await make_member(bot.deps, channel="zalo", user_id=REVIEWER, unit="dbcs-a",
                      name="Trần Văn Thẩm", grants=((Role.REVIEWER, "dbcs-a"),))
    return bot


@pytest.fixture
async def public(standin: ZaloBotStandin, redis: Redis, valkey_url: str,
                 tmp_path: Path) -> AsyncIterator[Running]:
    """Long polling, with DVBOT_PUBLIC_URL: the bot's web server serves stored files."""
    port = free_port()
    bot = await _run(standin, redis, valkey_url, tmp_path / "data",
                     public_url=f"http://127.0.0.1:{port}", http_host="127.0.0.1",
                     http_port=port, webhook_secret=secrets.token_urlsafe(24))
    yield bot
    await bot.stop()


@pytest.fixture
async def private(standin: ZaloBotStandin, redis: Redis, valkey_url: str,
                  tmp_path: Path) -> AsyncIterator[Running]:
    """Long polling, no public URL: files cannot be linked."""
    bot = await _run(standin, redis, valkey_url, tmp_path / "data")
    yield bot
    await bot.stop()


async def send_photo(standin: ZaloBotStandin, user: str, name: str) -> str:
    """`user` sends a photo; Zalo hands the bot its URL."""
    standin.user_sends(user, "", photo=f"{standin.url}/img/{name}")
    [answer] = await standin.wait_sent(user)
    return answer.text


async def fill_form(standin: ZaloBotStandin) -> str:
    """The member fills the form up to the photo step by numbers and text."""
    menu = await say(standin, MEMBER, "menu")
    ask = await say(standin, MEMBER, number_of(menu, "Đề xuất mô hình Dân vận khéo"))
    assert "Bước 1/7" in ask
    areas = await say(standin, MEMBER, NAME)
    units = await say(standin, MEMBER, number_of(areas, "Kinh tế"))
    who = await say(standin, MEMBER, number_of(units, "Chi bộ A1"))
    assert "Bước 4/7" in who
    answer = ""
    for text in ("Chi bộ A1 và Đoàn thanh niên",
                 "Hướng dẫn người dân cài đặt và dùng dịch vụ công trực tuyến tại nhà.",
                 "1.200 hồ sơ nộp trực tuyến, 95% hộ dân dùng thanh toán không tiền mặt."):
        answer = await say(standin, MEMBER, text)
    assert "đã có 0/5 ảnh" in answer
    return answer


async def test_proposal_with_photo_by_numbers_review_notice_and_links(
        standin: ZaloBotStandin, public: Running) -> None:
    bot = public
    await fill_form(standin)
    got = await send_photo(standin, MEMBER, "anh.jpg")
    assert "đã có 1/5 ảnh" in got
    review = await say(standin, MEMBER, number_of(got, "Xong, xem lại"))
    sent = await say(standin, MEMBER, number_of(review, "Gửi đề xuất"))
    assert "Đã gửi đề xuất DVK-" in sent
    code = sent.split("Đã gửi đề xuất ")[1].split()[0]

    # The photo is stored: checked and re-encoded by Pillow, kept on disk by its hash.
    stored = await bot.deps.proposals.store.get(code)
    assert stored is not None and len(stored.photos) == 1
    photo = stored.photos[0]
    assert (photo.width, photo.height) == (64, 48)
    path = bot.deps.library.files.path(photo.file)
    # Re-encoded from its pixels (metadata dropped), so the same picture, not the same bytes.
    with Image.open(path) as kept, Image.open(io.BytesIO(standin.images["anh.jpg"][0])) as sent_:
        assert kept.format == "JPEG" and kept.size == sent_.size and not kept.getexif()

    # A reviewer on Zalo sees the photo as a signed URL of the bot's own server, then the card.
    queue = await say(standin, REVIEWER, "/thamdinh")
    assert "Đảng bộ cơ sở A: 1 đề xuất" in queue
    standin.user_sends(REVIEWER, number_of(queue, "Đề xuất tiếp theo"))
    picture, card = await standin.wait_sent(REVIEWER, 2)
    assert picture.method == "sendPhoto" and picture.photo is not None
    assert picture.photo.startswith(f"{bot.settings.public_url}/f/")
    assert picture.text == f"{code} — ảnh 1" and code in card.text
    async with aiohttp.ClientSession() as session:
        async with session.get(picture.photo) as response:
            assert response.status == 200
            assert await response.read() == path.read_bytes()
        forged = picture.photo.replace("/f/", "/f/0", 1)
        async with session.get(forged) as response:
            assert response.status == 404

    ask_answer = await say(standin, REVIEWER, number_of(card.text, "Công nhận"))
    assert "ý kiến trả lời chính thức" in ask_answer
    ask_note = await say(standin, REVIEWER, "Mô hình hiệu quả, đề nghị nhân rộng.")
    confirm = await say(standin, REVIEWER, number_of(ask_note, "Bỏ qua"))
    done = await say(standin, REVIEWER, number_of(confirm, "Xác nhận"))
    assert "Đã được công nhận" in done

    # The member's notices come through the delivery workers (two transitions, any order).
    notices = [m.text for m in await standin.wait_sent(MEMBER, 2, timeout=10)]
    assert any("Đang thẩm định" in n for n in notices)
    assert any("đề nghị nhân rộng" in n for n in notices)
    assert all("<b>" not in n for n in notices)  # plain text on Zalo
    recognised = await bot.deps.proposals.store.get(code)
    assert recognised is not None and recognised.state.name == "RECOGNISED"

    # The gallery shows the recognised model with its photo, as a link too.
    gallery = await say(standin, MEMBER, "/mohinh")
    listing = await say(standin, MEMBER, number_of(gallery, "Tất cả mô hình"))
    standin.user_sends(MEMBER, number_of(listing, NAME))
    shown = await standin.wait_sent(MEMBER, 2)
    assert shown[0].method == "sendPhoto" and shown[0].photo == picture.photo
    assert NAME in shown[1].text


async def test_without_a_public_url_photos_go_as_notes(standin: ZaloBotStandin,
                                                       private: Running) -> None:
    await fill_form(standin)
    assert "đã có 1/5 ảnh" in await send_photo(standin, MEMBER, "anh.jpg")
    review = await say(standin, MEMBER, "xong")  # the typed word works as well as the number
    sent = await say(standin, MEMBER, number_of(review, "Gửi đề xuất"))
    code = sent.split("Đã gửi đề xuất ")[1].split()[0]
    queue = await say(standin, REVIEWER, "/thamdinh")
    standin.user_sends(REVIEWER, number_of(queue, "Đề xuất tiếp theo"))
    note, card = await standin.wait_sent(REVIEWER, 2)
    assert note.method == "sendMessage" and "[Ảnh: anh-1.jpg]" in note.text
    assert "chỉ xem được trên Telegram" in note.text and code in card.text
    assert not [m for m, _ in standin.calls if m == "sendPhoto"]


@pytest.mark.parametrize("name", ["trang.html", "tailieu.pdf", "khongco.jpg"])
async def test_what_is_not_a_photo_is_refused_politely(standin: ZaloBotStandin,
                                                       private: Running, name: str) -> None:
    await fill_form(standin)
    answer = await send_photo(standin, MEMBER, name)
    if name == "khongco.jpg":  # the link is dead (404): worth sending again
        assert "chưa tải được ảnh này" in answer
    else:
        assert "Tệp này không phải ảnh" in answer and "JPEG, PNG hoặc WebP" in answer
    assert "đã có 0/5 ảnh" in answer
    draft = await private.deps.proposals.store.draft(
        (await private.deps.members.by_account("zalo", MEMBER)).id)  # type: ignore[union-attr]
    assert draft is not None and draft.photos == []
    assert not list((private.settings.data_dir / "files").rglob("*.*"))
