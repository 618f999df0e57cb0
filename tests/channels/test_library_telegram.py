"""End to end over real HTTP: a member opens a directive, acknowledges it and gets its PDF as a
sendDocument; a cadre publishes one with a PDF that the adapter downloads through getFile; the
audience is notified by the sender workers of run_bot, and a reminder reaches who has not
studied it."""

from __future__ import annotations

from pathlib import Path

from bot.org.models import Role
from tests.channels.conftest import LiveBot, button_data, labels, text
from tests.library.helpers import directive, import_folder, write

ALICE, CADRE, BOB, DAVE = 2001, 2002, 2003, 2004
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

    [ack] = await live_bot.press(ALICE, card, button_data(card, "Xác nhận đã nghiên cứu"))
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


async def test_members_get_the_new_directive_and_a_reminder_over_http(live_bot: LiveBot) -> None:
    bot, standin = live_bot, live_bot.standin
    await bot.register(CADRE, unit="dbcs-a", grants=((Role.CADRE, "dbcs-a"),))
    alice = await bot.register(ALICE, unit="cb-a1")
    await bot.register(BOB, unit="cb-a2")
    await bot.register(DAVE, unit="cb-b1")
    [menu] = await bot.send(CADRE, "/menu")
    [picker] = await bot.press(CADRE, menu, button_data(menu, "Đăng văn bản mới"))
    await bot.press(CADRE, picker, button_data(picker, "Đăng cho Đảng bộ cơ sở A"))
    for answer in ("12-NQ/ĐU", "Về công tác dân vận <năm 2026> & sau đó", "05/11/2025",
                   "Ban Thường vụ Đảng ủy", "Tóm tắt nội dung nghị quyết của Đảng ủy.", "bỏ qua"):
        [preview] = await bot.send(CADRE, answer)
    [done] = await bot.press(CADRE, preview, button_data(preview, "Đăng văn bản"))
    assert "Đang gửi thông báo văn bản mới tới <b>2</b> đảng viên" in text(done)

    [notice] = await standin.wait_sent(ALICE, 1, timeout=10)
    assert notice.method == "sendMessage" and notice.parse_mode == "HTML"
    assert text(notice).startswith("Văn bản mới: <b>Nghị quyết 12-NQ/ĐU</b> — Về công tác dân "
                                   "vận &lt;năm 2026&gt; &amp; sau đó")
    assert labels(notice) == ["Mở văn bản"]
    [card] = await bot.press(ALICE, notice, button_data(notice, "Mở văn bản"))
    assert card.method == "editMessageText"
    assert "<b>Nghị quyết 12-NQ/ĐU</b>" in text(card) and "Tóm tắt nội dung" in text(card)
    [ack] = await bot.press(ALICE, card, button_data(card, "Xác nhận đã nghiên cứu"))
    assert "Đã ghi nhận" in text(ack)
    assert await bot.deps.library.has_acked("12-nq-du", alice.id)
    [bob_notice] = await standin.wait_sent(BOB, 1, timeout=10)
    assert "Văn bản mới" in text(bob_notice)

    # The cadre opens the coverage report and reminds whoever has not studied it: Bob (and
    # the cadre, a member of Đảng bộ cơ sở A who has not pressed "Đã nghiên cứu" either).
    [report] = await bot.press(CADRE, done, button_data(done, "Báo cáo nghiên cứu"))
    assert "Đã nghiên cứu: <b>1/3</b>" in text(report)
    [ask] = await bot.press(CADRE, report, button_data(report, "Nhắc nhở"))
    assert "Gửi nhắc nhở tới <b>2</b> đồng chí?" in text(ask)
    # The edited question and the cadre's own reminder, in whichever order they arrive.
    got = await bot.press(CADRE, ask, button_data(ask, "Gửi nhắc nhở"), count=2)
    [sent] = [m for m in got if m.method == "editMessageText"]
    assert "Đang gửi nhắc nhở tới <b>2</b> đồng chí" in text(sent)
    assert any("Đồng chí chưa xác nhận đã nghiên cứu" in text(m) for m in got)
    [reminder] = await standin.wait_sent(BOB, 1, timeout=10)
    assert "Đồng chí chưa xác nhận đã nghiên cứu <b>Nghị quyết 12-NQ/ĐU</b>" in text(reminder)
    [again] = await bot.press(CADRE, sent, button_data(sent, "Về báo cáo"))
    [wait] = await bot.press(CADRE, again, button_data(again, "Nhắc nhở"))
    assert "Đã gửi nhắc nhở nghiên cứu" in text(wait) and "Tin nhắc đã tới" in text(wait)

    # One notice each to Alice and Bob, none to the author or to Dave outside the audience;
    # the reminder went to Bob and the cadre only.
    def sends(chat: int, marker: str) -> int:
        return sum(1 for c in standin.calls_of("sendMessage")
                   if c.params.get("chat_id") == chat and marker in str(c.params.get("text")))

    assert [sends(u, "Văn bản mới") for u in (ALICE, BOB, CADRE, DAVE)] == [1, 1, 0, 0]
    assert [sends(u, "Nhắc nhở nghiên cứu") for u in (ALICE, BOB, CADRE, DAVE)] == [0, 1, 1, 0]
