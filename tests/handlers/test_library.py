"""Members browse, open, read, search and acknowledge documents through the real dispatcher;
forged buttons and restricted documents get the polite "không tìm thấy"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.engine.messages import Incoming
from bot.org.models import Role
from handlers import build_router
from tests.conftest import make_member
from tests.handlers.chat import Chat
from tests.library.helpers import directive, import_folder, import_shipped, write

NOT_FOUND = "Không tìm thấy văn bản hoặc tài liệu này"


@pytest.fixture
async def member(deps: Deps) -> Chat:
    """The shipped library imported, and a plain member of Chi bộ A1."""
    await import_shipped(deps)
    await make_member(deps, user_id="m", unit="cb-a1", name="Lê Thị Học")
    return Chat(Dispatcher(build_router(), deps), "m")


async def test_browse_newest_first_and_paginate(member: Chat) -> None:
    await member.say("/menu")
    await member.press("Văn bản chỉ đạo")
    text = member.text
    assert "Văn bản chỉ đạo" in text and "trang 1/2" in text
    assert text.index("144-QĐ/TW") < text.index("23-QĐ/TW") < text.index("43-KL/TW")
    assert member.replies[0].edit
    await member.press("Trang sau")
    assert "trang 2/2" in member.text and "30-CT/TW" in member.text
    await member.press("Trang trước")
    assert "trang 1/2" in member.text


async def test_open_read_full_and_acknowledge(member: Chat, deps: Deps) -> None:
    await member.press_raw("dir|1")
    await member.press("25-NQ/TW")
    text = member.text
    assert "Nghị quyết 25-NQ/TW" in text and "03/6/2013" in text
    assert "Tóm tắt" in text and "Nội dung chính" in text and "• Được Hội nghị" in text
    assert "› Kết luận 43-KL/TW" in member.labels()  # a related directive in the library
    await member.press("Đọc thêm")
    assert "Giới thiệu" in member.text and "Nguồn:" in member.text
    await member.press("Xác nhận đã nghiên cứu")
    assert "Đã ghi nhận" in member.text and "1/13 văn bản chỉ đạo" in member.text
    await member.press_raw("doc.ok|25-nq-tw")
    assert "xác nhận nghiên cứu trước đây" in member.text
    await member.press_raw("doc|25-nq-tw")
    assert "✓ Đồng chí đã nghiên cứu văn bản này." in member.text
    assert not any("đã nghiên cứu" in label for label in member.labels())
    await member.press_raw("dir|1")
    assert "✓ 25-NQ/TW" in " ".join(member.labels())
    assert await deps.redis.scard("dv:{doc:25-nq-tw}:acks") == 1


async def test_materials_by_topic_and_progress(member: Chat) -> None:
    await member.say("/tailieu")
    assert "Dân chủ ở cơ sở (0/2)" in member.labels()
    await member.press("Dân chủ ở cơ sở")
    await member.press("Dân chủ ở cơ sở: từ Quy chế")
    assert "Chủ đề: Dân chủ ở cơ sở" in member.text
    await member.press("Xác nhận đã nghiên cứu")
    await member.press("Tiến độ học tập của tôi")
    assert "0/13 văn bản chỉ đạo và 1/7 tài liệu học tập" in member.text
    assert "Chưa nghiên cứu" in member.text and len(member.labels()) == 7  # 5 + next + menu
    first = member.labels()[:5]
    seen = set(first)
    while "Trang sau ›" in member.labels():  # every unstudied document can be reached
        await member.press("Trang sau ›")
        seen |= {label for label in member.labels() if "›" not in label and "‹" not in label
                 and "menu" not in label}
    assert len(seen) == 19 and "16–19 trong 19" in member.text
    await member.press("‹ Trang trước")
    assert "11–15 trong 19" in member.text


async def test_search_by_button_and_command(member: Chat) -> None:
    await member.say("/timkiem 25nq")
    assert "Kết quả cho «25nq»" in member.text
    assert member.labels()[0].startswith("25-NQ/TW")
    await member.say("nghi quyet 25")  # the prompt stays open to refine the search
    assert member.labels()[0].startswith("25-NQ/TW")
    await member.say("xyzzy")
    assert "Không tìm thấy văn bản, tài liệu nào" in member.text
    await member.say("/huy")
    await member.say("tìm kiếm")
    assert "gõ từ khóa" in member.text


async def test_unknown_and_garbled_ids_are_not_found(member: Chat) -> None:
    for payload in ("doc|khong-co", "doc.f|99-nq-tw", "doc.ok|x", "qz|25-nq-tw", "doc"):
        await member.press_raw(payload)
        assert NOT_FOUND in member.text or "thiếu thông tin" in member.text, payload


async def test_restricted_document_stays_hidden_even_with_forged_buttons(
        deps: Deps, tmp_path: Path) -> None:
    write(tmp_path, "directives/a.md", directive("12-NQ/ĐU", extra="audience: dbcs-b"))
    await import_folder(deps, tmp_path)
    await make_member(deps, user_id="out", unit="cb-a1")
    await make_member(deps, user_id="in", unit="cb-b1")
    await make_member(deps, user_id="boss", unit="khoi", grants=((Role.CADRE, "khoi"),))
    router = build_router()
    outsider, insider, boss = (Chat(Dispatcher(router, deps), u) for u in ("out", "in", "boss"))
    await outsider.press_raw("dir")
    assert "12-NQ/ĐU" not in outsider.text
    for payload in ("doc|12-nq-du", "doc.f|12-nq-du", "doc.ok|12-nq-du"):
        await outsider.press_raw(payload)
        assert NOT_FOUND in outsider.text, payload
    await outsider.say("/timkiem 12 nq")
    assert "12-NQ/ĐU" not in outsider.text
    assert await deps.redis.scard("dv:{doc:12-nq-du}:acks") == 0
    await insider.press_raw("doc|12-nq-du")
    assert "Đối tượng: Đảng bộ cơ sở B" in insider.text
    await boss.press_raw("doc|12-nq-du")  # a cadre above the audience may read it
    assert "Nghị quyết 12-NQ/ĐU" in boss.text


async def test_full_text_splits_under_the_limit_and_sends_the_attachment(
        deps: Deps, tmp_path: Path) -> None:
    paragraphs = "\n\n".join(f"Đoạn {i}: " + "nội dung dài " * 40 for i in range(30))
    write(tmp_path, "directives/a.md",
          directive(extra="attachment: files/a.pdf", body=paragraphs))
    (tmp_path / "directives/files").mkdir()
    (tmp_path / "directives/files/a.pdf").write_bytes(b"%PDF-1.4 toan van")
    await import_folder(deps, tmp_path)
    await make_member(deps, user_id="m", unit="cb-a1")
    chat = Chat(Dispatcher(build_router(), deps), "m")
    await chat.press_raw("doc.f|12-nq-du")
    assert len(chat.replies) >= 4
    assert all(len(r.text) <= 4096 for r in chat.replies)
    assert all(r.text.rstrip().endswith("nội dung dài") for r in chat.replies[:-1])
    last = chat.replies[-1]
    assert last.document is not None and last.document.filename == "a.pdf"
    assert last.document.path is not None and last.document.path.read_bytes().startswith(b"%PDF")
    assert "Xác nhận đã nghiên cứu" in chat.labels()
    await chat.press_raw("doc|12-nq-du")
    assert "Đọc toàn văn" in chat.labels()  # the PDF is the full text


async def test_an_introduction_is_not_called_the_full_text(member: Chat) -> None:
    """Regression: "Đọc toàn văn" opened a 3-paragraph introduction."""
    await member.press_raw("doc|25-nq-tw")
    assert "Đọc thêm" in member.labels()
    assert not any("toàn văn" in label.lower() for label in member.labels())


async def test_reading_on_a_plain_text_channel(deps: Deps) -> None:
    """Zalo and the console get plain text: joined lines, no markup, the source link written
    out, and a material's title once (it was printed twice)."""
    await import_shipped(deps)
    await make_member(deps, channel="console", user_id="c", unit="cb-a1")
    chat = Chat(Dispatcher(build_router(), deps), "c", channel="console", buttons=False)
    await chat.press_raw("doc.f|phuong-cham-6-dan")
    text = chat.text
    assert "**" not in text and "<b>Sáu chữ" not in chat.replies[0].text
    assert "quen thuộc là “dân biết, dân bàn, dân làm, dân kiểm tra”." in text
    assert text.count("Phương châm “dân biết") == 1
    await chat.press_raw("doc.f|25-nq-tw")
    assert "Nguồn: https://xaydungdang.org.vn/van-kien-tu-lieu/" in chat.text


async def test_everything_works_by_typed_numbers(deps: Deps) -> None:
    await import_shipped(deps)
    await make_member(deps, channel="console", user_id="c", unit="cb-a1")
    chat = Chat(Dispatcher(build_router(), deps), "c",
                channel="console", buttons=False)
    await chat.say("/menu")
    number = chat.labels().index("Văn bản chỉ đạo") + 1
    await chat.say(str(number))
    assert "Văn bản chỉ đạo" in chat.text
    await chat.say("1")  # the newest directive
    assert "Quy định 144-QĐ/TW" in chat.text
    await chat.say(str(chat.labels().index("Xác nhận đã nghiên cứu") + 1))
    assert "Đã ghi nhận" in chat.text


async def test_file_sent_outside_any_form_is_refused(member: Chat) -> None:
    from bot.engine.messages import FileRef

    replies = await member.send(Incoming(channel="telegram", user_id="m", chat_id="m",
                                         file=FileRef("f", "document", "a.pdf",
                                                      "application/pdf", 10)))
    assert "chưa cần tệp" in replies[0].text


async def test_search_pages_through_every_hit_and_a_miss_offers_the_lists(member: Chat) -> None:
    await member.say("/timkiem dan")
    found = re.search(r"(\d+) mục", member.text)
    assert found is not None
    total = int(found.group(1))
    assert total > 8  # more than one page
    assert "Trang sau ›" in member.labels()  # was: the first 8, and no way to the rest
    await member.press("Trang sau ›")
    assert f"9–{min(16, total)})" in member.text and "‹ Trang trước" in member.labels()
    await member.say("xyzzy")  # was: only «Hủy»
    assert "Văn bản chỉ đạo" in member.labels() and "Tài liệu học tập" in member.labels()
    await member.press("Văn bản chỉ đạo")
    assert "Văn bản chỉ đạo" in member.text


async def test_document_buttons_say_what_they_open(member: Chat) -> None:
    """Regression: labels were the title cut at 44 characters ("25-NQ/TW · Về tăng cường và
    đổi mới sự lãnh…"); documents now carry a short title for buttons."""
    await member.press_raw("dir")
    labels = member.labels()
    await member.press("Trang sau")
    labels += member.labels()
    await member.say("/tailieu")
    for topic in [label for label in member.labels() if "(" in label]:
        await member.press(topic)
        labels += member.labels()
        await member.say("/tailieu")
    assert "25-NQ/TW · Đổi mới lãnh đạo công tác dân vận" in labels
    assert "Dân chủ ở cơ sở: từ Quy chế đến Luật" in labels
    assert not [label for label in labels if "…" in label]
