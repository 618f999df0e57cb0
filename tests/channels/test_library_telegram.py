"""End to end over real HTTP: a member opens a directive, acknowledges it and gets its PDF as a
sendDocument; a cadre publishes one with a PDF that the adapter downloads through getFile."""

from __future__ import annotations

from pathlib import Path

from bot.models import Role
from tests.channels.conftest import LiveBot, button_data, labels, text
from tests.library.helpers import directive, import_folder, write

ALICE, CADRE = 2001, 2002
PDF = b"%PDF-1.4\n" + b"toan van nghi quyet " * 50


async def test_open_acknowledge_and_receive_the_attachment(live_bot: LiveBot,
                                                           tmp_path: Path) -> None:
    write(tmp_path, "directives/a.md",
          directive("25-NQ/TW", title="Về tăng cường công tác dân vận trong tình hình mới",
                    extra="attachment: files/25-nq-tw.pdf"))
    (tmp_path / "directives/files").mkdir()
    (tmp_path / "directives/files/25-nq-tw.pdf").write_bytes(PDF)
    await import_folder(live_bot.deps, tmp_path)
    member = await live_bot.register(ALICE, unit="cb-a1")

    [listing] = await live_bot.send(ALICE, "/vanban")
    assert "Văn bản chỉ đạo" in text(listing)
    [card] = await live_bot.press(ALICE, listing, button_data(listing, "25-NQ/TW"))
    assert card.method == "editMessageText" and card.message_id == listing.message_id
    assert "<b>Nghị quyết 25-NQ/TW</b>" in text(card) and "Nội dung chính" in text(card)

    [ack] = await live_bot.press(ALICE, card, button_data(card, "Đã nghiên cứu"))
    assert "Đã ghi nhận" in text(ack)
    assert await live_bot.deps.library.has_acked("25-nq-tw", member.id)

    [card_again] = await live_bot.press(ALICE, ack, button_data(ack, "Mở lại văn bản"))
    assert card_again.method == "editMessageText"
    assert "✓ Đồng chí đã nghiên cứu" in text(card_again)
    sent = await live_bot.press(ALICE, card_again, button_data(card_again, "Đọc toàn văn"), 2)
    assert [m.method for m in sent] == ["sendMessage", "sendDocument"]
    assert "Nội dung." in text(sent[0]) and "Về văn bản" in " ".join(labels(sent[0]))
    doc = sent[1].document
    assert doc is not None and doc.file_name == "25-nq-tw.pdf" and doc.file_size == len(PDF)
    assert "Tệp đính kèm: Nghị quyết 25-NQ/TW" in (sent[1].text or "")


async def test_cadre_publishes_with_a_pdf_downloaded_from_telegram(live_bot: LiveBot) -> None:
    await live_bot.register(CADRE, unit="dbcs-a", grants=((Role.CADRE, "dbcs-a"),))
    [menu] = await live_bot.send(CADRE, "/menu")
    [picker] = await live_bot.press(CADRE, menu, button_data(menu, "Đăng văn bản mới"))
    [form] = await live_bot.press(CADRE, picker, button_data(picker, "Đăng cho Đảng bộ cơ sở A"))
    assert "Bước 1/6" in text(form)
    for answer in ("12-NQ/ĐU", "Về đẩy mạnh công tác dân vận năm 2026", "05/11/2025",
                   "Ban Thường vụ Đảng ủy", "Tóm tắt nội dung nghị quyết của Đảng ủy."):
        await live_bot.send(CADRE, answer)

    live_bot.standin.user_sends_document(CADRE, "quá-lớn.pdf", "application/pdf",
                                         file_size=25 * 1024 * 1024)
    [refused] = await live_bot.standin.wait_sent(CADRE, 1)
    assert "vượt giới hạn 20,0 MB" in text(refused)

    live_bot.standin.user_sends_document(CADRE, "nq12.pdf", "application/pdf", content=PDF)
    [preview] = await live_bot.standin.wait_sent(CADRE, 1)
    assert "Tệp đính kèm: nq12.pdf" in text(preview)
    [done] = await live_bot.press(CADRE, preview, button_data(preview, "Đăng văn bản"))
    assert "Đã đăng" in text(done)
    record = await live_bot.deps.library.get("12-nq-du")
    assert record is not None and record.doc.attachment is not None
    assert live_bot.deps.library.files.path(record.doc.attachment).read_bytes() == PDF
    assert len(live_bot.standin.calls_of("getFile")) == 1  # the big one was never fetched
