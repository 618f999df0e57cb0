"""Cadres publish directives from the chat: guided form, same validation as files, optional
PDF within the platform limit, same số hiệu updates, scope re-checked at every step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.engine.messages import FileRef, Incoming
from bot.library.models import Directive
from bot.org.models import Role
from tests.conftest import make_member
from tests.handlers.chat import Chat
from tests.library.helpers import import_shipped

PDF = b"%PDF-1.4\n" + b"toan van " * 100


def pdf_ref(size: int = len(PDF), *, name: str = "nq12.pdf", mime: str = "application/pdf",
            data: bytes = PDF) -> FileRef:
    """A document as the Telegram adapter would pass it, with a fetch callable."""
    async def fetch() -> bytes:
        return data
    fetcher: Callable[[], Awaitable[bytes]] = fetch
    return FileRef("file-1", "document", name, mime, size, fetch=fetcher)


@pytest.fixture
async def cadre(deps: Deps, dispatcher: Dispatcher) -> Chat:
    """A cadre of Đảng bộ cơ sở A, with members below."""
    await make_member(deps, user_id="c", unit="dbcs-a", grants=((Role.CADRE, "dbcs-a"),))
    for n, unit in enumerate(("cb-a1", "cb-a1", "cb-a2", "cb-b1")):
        await make_member(deps, user_id=f"p{n}", unit=unit)
    return Chat(dispatcher, "c")


async def _fill(chat: Chat, so_hieu: str = "12-NQ/ĐU") -> None:
    await chat.say("/menu")
    await chat.press("Đăng văn bản mới")
    await chat.press("Chi bộ A1")
    await chat.press("Đăng cho Chi bộ A1")
    for text in (so_hieu, "Về đẩy mạnh phong trào Dân vận khéo năm 2026", "05/11/2026",
                 "Ban Thường vụ Đảng ủy", "Chi bộ triển khai mô hình dân vận khéo tại cơ quan."):
        await chat.say(text)


async def test_publish_with_a_pdf(cadre: Chat, deps: Deps) -> None:
    await _fill(cadre)
    assert "Bước 6/6" in cadre.text
    await cadre.send(Incoming(channel="telegram", user_id="c", chat_id="c", file=pdf_ref()))
    assert "Xem lại trước khi đăng" in cadre.text and "Tệp đính kèm: nq12.pdf" in cadre.text
    assert "Đối tượng: Đảng bộ Khối Thử nghiệm › Đảng bộ cơ sở A › Chi bộ A1" in cadre.text
    assert await deps.library.get("12-nq-du") is None  # nothing saved before confirming
    await cadre.press("Đăng văn bản")
    assert "Đã đăng <b>Nghị quyết 12-NQ/ĐU</b>" in cadre.replies[0].text
    assert "tới 2 đảng viên" in cadre.text  # the members of Chi bộ A1 being notified
    record = await deps.library.get("12-nq-du")
    assert record is not None and isinstance(record.doc, Directive)
    assert record.doc.audience == "cb-a1" and record.origin.startswith("chat:")
    assert record.doc.attachment is not None
    assert deps.library.files.path(record.doc.attachment).read_bytes() == PDF
    audit = await deps.audit.recent()
    assert audit[0]["action"] == "directive_publish" and audit[0]["doc"] == "12-nq-du"

    member = Chat(cadre.dispatcher, "p0")
    await member.press_raw("doc.f|12-nq-du")
    assert member.replies[-1].document is not None
    outsider = Chat(cadre.dispatcher, "p3")
    await outsider.press_raw("doc|12-nq-du")
    assert "Không tìm thấy" in outsider.text


async def test_same_so_hieu_twice_updates(cadre: Chat, deps: Deps) -> None:
    await _fill(cadre)
    await cadre.press("Bỏ qua")
    await cadre.press("Đăng văn bản")
    await _fill(cadre, "12-nq/du")
    assert "đã có" in cadre.text or "Bước" in cadre.text
    await cadre.say("bỏ qua")
    await cadre.press("Đăng văn bản")
    # Identical content: nothing changes, and nobody is notified a second time.
    assert "không có gì thay đổi" in cadre.text
    library = await deps.library.snapshot()
    assert [e.id for e in library.entries.values()] == ["12-nq-du"]


async def test_a_chi_bo_cadre_cannot_overwrite_a_central_directive(deps: Deps,
                                                                  dispatcher: Dispatcher) -> None:
    await import_shipped(deps)
    await make_member(deps, user_id="c", unit="cb-a1", grants=((Role.CADRE, "cb-a1"),))
    chat = Chat(dispatcher, "c")
    await chat.press_raw("pub")
    await chat.press("Đăng cho Chi bộ A1")
    await chat.say("25-NQ/TW")
    assert "thuộc cấp khác quản lý" in chat.text
    record = await deps.library.get("25-nq-tw")
    assert record is not None and record.origin == "file:directives/25-nq-tw.md"


async def test_bad_inputs_are_explained_and_the_step_repeats(cadre: Chat) -> None:
    await cadre.press_raw("pub.r|cb-a1")
    await cadre.say("NQ 12")
    assert "không đúng dạng" in cadre.text
    await cadre.say("12-NQ/ĐU")
    await cadre.say("Ngắn")
    assert "từ 5 đến 300 ký tự" in cadre.text
    await cadre.say("Về công tác dân vận năm 2026")
    for bad in ("31/02/2026", "hôm qua", "01/01/2030", "01/01/1920"):
        await cadre.say(bad)
        assert "Xin đồng chí gõ lại" in cadre.text, bad
    await cadre.say("01/11/2026")
    await cadre.say("BT")
    assert "từ 3 đến 200 ký tự" in cadre.text
    await cadre.say("Ban Thường vụ Đảng ủy")
    await cadre.say("ngắn")
    assert "từ 10 đến 3.000 ký tự" in cadre.text
    await cadre.say("Tóm tắt nội dung văn bản thử nghiệm.")
    assert "Bước 6/6" in cadre.text
    await cadre.say("tệp đây")
    assert "gửi tệp PDF" in cadre.text


async def test_files_over_the_limit_or_not_pdf_are_refused(cadre: Chat, deps: Deps) -> None:
    await _fill(cadre)
    big = pdf_ref(21 * 1024 * 1024)
    await cadre.send(Incoming(channel="telegram", user_id="c", chat_id="c", file=big))
    assert "vượt giới hạn 20,0 MB" in cadre.text and "Chưa có gì được lưu" in cadre.text
    lying = pdf_ref(100, data=b"x" * (21 * 1024 * 1024))  # the platform under-reported the size
    await cadre.send(Incoming(channel="telegram", user_id="c", chat_id="c", file=lying))
    assert "vượt giới hạn" in cadre.text
    doc = pdf_ref(name="ghi-chu.docx", mime="application/msword")
    await cadre.send(Incoming(channel="telegram", user_id="c", chat_id="c", file=doc))
    assert "chỉ nhận tệp PDF" in cadre.text
    photo = FileRef("p", "photo", size=1000)
    await cadre.send(Incoming(channel="telegram", user_id="c", chat_id="c", file=photo))
    assert "chỉ nhận tệp PDF" in cadre.text
    assert not (deps.settings.data_dir / "files").exists()  # nothing stored half-way
    assert await deps.library.get("12-nq-du") is None
    await cadre.press("Bỏ qua")
    assert "Tệp đính kèm: không có" in cadre.text


async def test_scope_is_rechecked_on_forged_buttons(deps: Deps, cadre: Chat) -> None:
    for payload in ("pub.r|dbcs-b", "pub.u|khoi|0", "pub.r|khong-co"):
        await cadre.press_raw(payload)
        assert "không có quyền" in cadre.text, payload
    await cadre.press_raw("pub.ok")
    assert "Không có văn bản nào" in cadre.text
    plain = Chat(cadre.dispatcher, "p0")
    await plain.say("/menu")
    assert "Đăng văn bản mới" not in plain.labels()
    await plain.press_raw("pub")
    assert "được phân công phụ trách đơn vị" in plain.text
    await plain.press_raw("pub.r|cb-a1")
    assert "không có quyền" in plain.text
    assert (await deps.library.snapshot()).entries == {}
