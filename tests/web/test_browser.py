"""The dashboard in a real headless Chromium (Debian's package, driven by Playwright) against a
real `run_bot` on real Valkey, with Telegram played by the local Bot API stand-in.

A cadre gets the sign-in link by sending /web to the bot, opens it, and works through every
page; what the dashboard does reaches people over the stand-in like anything the chat does.
Screenshots of each page are saved under build/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright
from redis.asyncio import Redis

from tests.channels.conftest import LiveBot, live_settings
from tests.conftest import free_port
from tests.standin.botapi import BotApiStandin
from tests.web.conftest import SCREENSHOTS, chromium_path
from tests.web.seed import TG, Org, seed

ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandin]:
    """A Bot API stand-in."""
    async with BotApiStandin(token="5550123:AAHs3cr3t-Token_ForDvbotTests",
                             username="dvbot_test_bot") as server:
        yield server


@pytest.fixture
async def live(standin: BotApiStandin, redis: Redis, valkey_url: str,
               tmp_path: Path) -> AsyncIterator[tuple[LiveBot, Org]]:
    """`run_bot` (long polling) serving the dashboard on 127.0.0.1:<free port>, seeded."""
    from bot.app import make_deps
    from tests.conftest import UNITS

    settings = live_settings(standin, valkey_url, tmp_path / "data", http_host="127.0.0.1",
                             http_port=free_port())
    deps = make_deps(settings, redis)
    await deps.units.import_units(UNITS)
    org = await seed(deps, tmp_path / "content")
    bot = LiveBot(standin, settings, deps)
    await bot.start()
    try:
        yield bot, org
    finally:
        await bot.stop()


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    """A fresh Chromium page."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=ARGS)
        context = await browser.new_context(accept_downloads=True, locale="vi-VN",
                                            viewport={"width": 1280, "height": 900})
        yield await context.new_page()
        await browser.close()


async def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot of what a cadre sees."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def sign_in(bot: LiveBot, page: Page, telegram_id: int) -> None:
    """/web in the chat, then the link in the browser, then «Đăng nhập»."""
    [reply] = await bot.send(telegram_id, "/web")
    assert reply.text is not None
    found = re.search(r"http://127\.0\.0\.1:\d+/web/vao/[\w-]+", reply.text)
    assert found, reply.text
    await page.goto(found.group(0))
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.wait_for_url("**/web/")


async def test_a_cadre_works_through_the_dashboard(live: tuple[LiveBot, Org], page: Page,
                                                   tmp_path: Path) -> None:
    bot, org = live
    await sign_in(bot, page, TG["khoi_cadre"])
    assert await page.locator("h1").inner_text() == "Tổng quan"
    await shot(page, "1-tong-quan")

    # Văn bản: the heat table, a unit, then "Nhắc nhở" reaching members over Telegram.
    await page.get_by_role("link", name="Văn bản").click()
    await page.get_by_role("link", name="Đảng bộ cơ sở A").click()
    await shot(page, "2-van-ban")
    await page.get_by_role("link", name="12-NQ/ĐU").click()
    await page.get_by_role("link", name=re.compile("Nhắc nhở những đồng chí")).click()
    await page.get_by_role("button", name="Gửi nhắc nhở tới 9 đồng chí").click()
    await page.get_by_text("Đang gửi nhắc nhở tới 9 đồng chí").wait_for()
    await shot(page, "3-van-ban-nhac-nho")
    [reminder] = await bot.standin.wait_sent(TG["author"], timeout=10)
    assert reminder.text and "Nhắc nhở nghiên cứu văn bản" in reminder.text

    # Khảo sát: the results page and the XLSX download (anonymous: open once closed).
    await bot.deps.surveys.close(org.survey, bot.deps.clock())
    await page.get_by_role("link", name="Khảo sát").click()
    await page.get_by_role("link", name="Tâm tư tháng này").click()
    await shot(page, "4-khao-sat")
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="Tải XLSX").click()
    download = await waiting.value
    saved = tmp_path / "ket-qua.xlsx"
    await download.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"

    # Thông báo: compose, preview with the exact count, confirm, delivered over Telegram.
    await page.get_by_role("link", name="Thông báo").click()
    await page.get_by_label("Gửi tới đơn vị").select_option("cb-b1")
    await page.get_by_label(re.compile("Nội dung")).fill("Họp chi bộ B1 lúc 8 giờ thứ Hai.")
    await page.get_by_role("button", name="Xem trước").click()
    assert await page.locator("#count").inner_text() == "3"
    await shot(page, "5-thong-bao-xem-truoc")
    await page.get_by_role("button", name="✓ Xác nhận gửi").click()
    await page.wait_for_url(re.compile(r"/web/thong-bao/\d+$"))
    for member in org.members:
        if member.unit == "cb-b1":
            [got] = await bot.standin.wait_sent(int(member.identities["telegram"]), timeout=10)
            assert got.text and "Họp chi bộ B1" in got.text
    for _ in range(40):  # the report is live: reload until the job is finished
        await page.reload()
        if await page.locator("#status").inner_text() == "đã gửi xong":
            break
        await asyncio.sleep(0.25)
    assert await page.locator("#status").inner_text() == "đã gửi xong"
    assert await page.locator("#sent").inner_text() == "3"
    await shot(page, "6-thong-bao-bao-cao")

    # Đảng viên và mã mời: the printed sheet of invite QR codes.
    await page.get_by_role("link", name="Đảng viên và mã mời").click()
    await shot(page, "7-dang-vien")
    await page.goto(page.url.split("/web/")[0] + "/web/ma-moi")
    await page.get_by_label("Chi bộ").select_option("cb-a2")
    await page.get_by_label(re.compile("Số phiếu")).fill("6")
    await page.get_by_role("button", name="Tạo và in phiếu").click()
    assert await page.locator(".qr svg").count() == 6
    await shot(page, "8-phieu-moi")

    # Đăng xuất: the session ends on the server.
    await page.get_by_role("button", name="Đăng xuất").click()
    await page.wait_for_url("**/web/dang-nhap")
    await page.goto(page.url.replace("/web/dang-nhap", "/web/"))
    assert "dang-nhap" in page.url


async def test_a_reviewer_decides_and_the_author_is_told(live: tuple[LiveBot, Org],
                                                         page: Page) -> None:
    bot, org = live
    await sign_in(bot, page, TG["a_reviewer"])
    await page.get_by_role("link", name="Đề xuất Dân vận khéo").click()
    await shot(page, "9-de-xuat-hang-cho")
    await page.get_by_role("button", name="Nhận đề xuất tiếp theo").click()
    await page.wait_for_url(f"**/web/de-xuat/{org.proposal_code}")
    [started] = await bot.standin.wait_sent(TG["author"], timeout=10)  # "đang được thẩm định"
    assert started.text and org.proposal_code in started.text
    await page.get_by_label("Quyết định").select_option(label="Trả lại để bổ sung")
    await page.get_by_label(re.compile("Ý kiến trả lời chính thức")).fill(
        "Đề nghị bổ sung số liệu hiệu quả năm 2025.")
    await shot(page, "10-de-xuat-tham-dinh")
    await page.get_by_role("button", name="✓ Xác nhận").click()
    await page.get_by_text("Đã ghi nhận quyết định").wait_for()
    [told] = await bot.standin.wait_sent(TG["author"], timeout=10)
    assert told.text and "Đề nghị bổ sung số liệu hiệu quả năm 2025." in told.text
    # The chat sees the same state at once.
    [mine] = await bot.send(TG["author"], "/dexuat")
    listed = " ".join(label for row in BotApiStandin.buttons(mine) for label, _ in row)
    assert org.proposal_code in listed and "Trả lại" in listed, listed


async def test_a_member_without_a_cadre_role_is_told_politely(live: tuple[LiveBot, Org]
                                                              ) -> None:
    bot, _org = live
    [reply] = await bot.send(TG["author"], "/web")
    assert reply.text and "dành cho cán bộ" in reply.text and "/web/vao/" not in reply.text


async def test_the_last_level_recognises_a_model_with_its_decision(
        live: tuple[LiveBot, Org], page: Page, tmp_path: Path) -> None:
    from bot.proposals.models import Decision, State
    from bot.proposals.reviewing import review_units

    bot, org = live
    deps = bot.deps
    tree = await deps.units.tree()
    first = await deps.proposals.next_for(
        org.a_reviewer, review_units(org.a_reviewer, deps.proposals.levels, tree), deps.clock())
    assert first is not None
    await deps.proposals.decide(org.a_reviewer, first.proposal.code, first.proposal.version,
                                Decision.APPROVE, "Mô hình tốt, chuyển lên Khối.", "",
                                deps.clock())
    pdf = tmp_path / "QĐ 125 công nhận.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")

    await sign_in(bot, page, TG["khoi_cadre"])
    await page.get_by_role("link", name="Đề xuất Dân vận khéo").click()
    await page.get_by_role("button", name="Nhận đề xuất tiếp theo").click()
    await page.wait_for_url(f"**/web/de-xuat/{org.proposal_code}")
    await page.get_by_label("Quyết định", exact=True).select_option(label="Công nhận")
    await page.get_by_label(re.compile("Ý kiến trả lời chính thức")).fill(
        "Mô hình hiệu quả, được công nhận năm 2026.")
    await page.get_by_label("Sáng tạo").check()
    await page.get_by_label("Có khả năng nhân rộng").check()
    await page.get_by_label(re.compile("Số quyết định")).fill("125-QĐ/ĐU")
    await page.get_by_label("Ngày quyết định").fill("2026-12-12")
    await page.get_by_label(re.compile("Tệp PDF quyết định")).set_input_files(str(pdf))
    await shot(page, "11-de-xuat-cong-nhan")
    await page.get_by_role("button", name="✓ Xác nhận").click()
    await page.get_by_text("Đã ghi nhận quyết định").wait_for()
    assert "Số 125-QĐ/ĐU ngày 12/12/2026" in await page.content()

    p = await deps.proposals.store.get(org.proposal_code)
    assert p is not None and p.state is State.RECOGNISED and p.recognition is not None
    assert p.recognition.file is not None
    last = (await deps.proposals.store.history(p.code))[-1]
    assert (last.criteria["Sáng tạo"], last.criteria["Hiệu quả"]) == (1, 0)
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="Tệp PDF quyết định").click()
    saved = tmp_path / "tai-ve.pdf"
    await (await waiting.value).save_as(saved)
    assert saved.read_bytes() == pdf.read_bytes()
    for _ in range(4):  # the author hears of the recognition with the decision's number
        [told] = await bot.standin.wait_sent(TG["author"], timeout=10)
        if told.text and State.RECOGNISED.label in told.text:
            break
    assert told.text and State.RECOGNISED.label in told.text
    assert "Quyết định công nhận: số 125-QĐ/ĐU ngày 12/12/2026" in told.text
