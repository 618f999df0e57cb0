"""Zalo rendering, signed file links and photo downloads (over real HTTP to the stand-in)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.channels.zalo_common import FileLinks, add_file_route, download_photo, render
from bot.channels.zalo_wiring import file_links
from bot.engine.messages import Attachment, Button, FileUnavailable, Reply, rows
from bot.settings import Settings
from tests.conftest import free_port
from tests.standin.zalo_bot import PNG, ZaloBotStandin


def test_buttons_become_numbered_options_and_html_is_stripped() -> None:
    reply = Reply("<b>Menu</b> &amp; chọn", buttons=rows(Button("Một", "a"), Button("Hai", "b")))
    [message] = render(reply, numbers=True, files=None)
    assert message.text == "Menu & chọn\n1. Một\n2. Hai\n(Trả lời 1–2, 0 để quay lại)"
    assert [b.action for b in message.buttons] == ["a", "b"]
    [plain] = render(reply, numbers=False, files=None)
    assert "• Một" in plain.text and not plain.buttons


def test_files_go_as_signed_urls_or_as_a_text_line(tmp_path: Path) -> None:
    root = tmp_path / "files"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.png").write_bytes(PNG)
    links = FileLinks("https://bot.example.org", root, b"k" * 32)
    photo = Reply("", photo=Attachment(root / "docs" / "a.png", "a.png", "Ảnh <i>đẹp</i>"))
    [message] = render(photo, numbers=True, files=links)
    assert message.photo_url is not None and message.text == "Ảnh đẹp"
    assert message.photo_url.startswith("https://bot.example.org/f/")
    [text_only] = render(photo, numbers=True, files=None)
    assert text_only.photo_url is None and "[Ảnh: a.png]" in text_only.text
    telegram_file = Reply("", document=Attachment(None, "b.pdf", file_id="BQAC"))
    [line] = render(telegram_file, numbers=True, files=links)
    assert "[Tệp: b.pdf]" in line.text and line.photo_url is None
    assert links.url(tmp_path / "outside.txt") is None


async def test_the_web_server_serves_only_signed_paths(tmp_path: Path) -> None:
    root = tmp_path / "files"
    root.mkdir()
    (root / "a.png").write_bytes(PNG)
    (tmp_path / "secret.txt").write_text("không được lộ")
    port = free_port()
    links = FileLinks(f"http://127.0.0.1:{port}", root, b"k" * 32)
    app = web.Application()
    add_file_route(app, links)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        url = links.url(root / "a.png")
        assert url is not None
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as response:
                assert response.status == 200 and await response.read() == PNG
            forged = url.replace("/a.png", "/../secret.txt")
            for bad in (url[:-5] + "b.png", forged, url.replace("/f/", "/f/0")):
                async with session.get(bad) as response:
                    assert response.status == 404
    finally:
        await runner.cleanup()


async def test_photo_downloads_check_type_and_size() -> None:
    async with ZaloBotStandin("1:x") as standin, aiohttp.ClientSession() as session:
        assert await download_photo(session, f"{standin.url}/img/a.png") == PNG
        standin.images["page.html"] = (b"<html></html>", "text/html")
        standin.images["big.jpg"] = (b"\xff" * 5000, "image/jpeg")
        with pytest.raises(FileUnavailable, match="not an image"):
            await download_photo(session, f"{standin.url}/img/page.html")
        with pytest.raises(FileUnavailable, match="too big"):
            await download_photo(session, f"{standin.url}/img/big.jpg", limit=1000)
        with pytest.raises(FileUnavailable, match="HTTP 404"):
            await download_photo(session, f"{standin.url}/img/none.png")
        with pytest.raises(FileUnavailable):
            await download_photo(session, "file:///etc/passwd")


def test_settings_name_what_a_half_configured_oa_lacks(tmp_path: Path) -> None:
    from bot.settings import Settings, SettingsError
    partial = Settings(_env_file=None, data_dir=tmp_path,  # type: ignore[call-arg]
                       zalo_oa_app_id="1", zalo_oa_secret_key="k")
    with pytest.raises(SettingsError, match="DVBOT_ZALO_OA_APP_SECRET, DVBOT_ZALO_OA_REFRESH"):
        partial.has_zalo_oa()
    nothing = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    with pytest.raises(SettingsError, match="DVBOT_TELEGRAM_TOKEN"):
        nothing.require_channel()
    zalo_only = Settings(_env_file=None, data_dir=tmp_path,  # type: ignore[call-arg]
                         zalo_bot_token="1:x", webhook_url="https://h.example.org/hook")
    zalo_only.require_channel()
    assert zalo_only.file_base_url() == "https://h.example.org"


def test_file_links_need_a_zalo_channel_a_public_url_and_a_secret(tmp_path: Path) -> None:
    def settings(**extra: object) -> Settings:
        return Settings(_env_file=None, data_dir=tmp_path, **extra)  # type: ignore[call-arg]

    secret = "s" * 24
    zalo = {"zalo_bot_token": "1:abc"}
    links = file_links(settings(public_url="https://dv.example.org", webhook_secret=secret,
                                **zalo))
    assert links is not None and links.base_url == "https://dv.example.org"
    assert links.root == tmp_path / "files"
    assert file_links(settings(public_url="https://dv.example.org", **zalo)) is None  # no key
    assert file_links(settings(webhook_secret=secret, **zalo)) is None  # nowhere public
    assert file_links(settings(public_url="https://dv.example.org", webhook_secret=secret,
                               telegram_token="1:t")) is None  # Telegram uploads itself
