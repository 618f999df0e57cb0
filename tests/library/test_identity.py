"""Documents of two terms with the same số hiệu (Party numbering restarts each khóa): ids that
keep stored progress, references that may name the year, content check refusing ambiguous
links, and the member choosing between them in the chat."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.library.identity import parse_ref
from bot.library.loader import load_library
from bot.library.sohieu import BadSoHieu
from bot.org.models import Role
from handlers import build_router
from tests.conftest import make_member
from tests.handlers.chat import Chat
from tests.library.helpers import directive, import_folder, write

OLD = directive("124-QĐ/TW", title="Quy định về giám sát đạo đức cán bộ", issued="2018-02-02")
NEW = directive("124-QĐ/TW", title="Quy định về kiểm điểm và đánh giá hằng năm",
                issued="2023-10-04")


@pytest.mark.parametrize(("typed", "expected"), [
    ("124-QĐ/TW", "124-QĐ/TW"), ("124-qđ/tw (2023)", "124-QĐ/TW (2023)"),
    ("124-QĐ/TW năm 2023", "124-QĐ/TW (2023)"), ("124-QD/TW 2023", "124-QĐ/TW (2023)"),
    ("10/2022/QH15", "10/2022/QH15"), ("10/2022/QH15 (2022)", "10/2022/QH15 (2022)"),
])
def test_a_reference_may_name_the_year(typed: str, expected: str) -> None:
    assert parse_ref(typed).text == expected


@pytest.mark.parametrize("typed", ["10/2022/QH15 (2021)", "124-QĐ/TW (1890)", "124 2023"])
def test_a_wrong_year_is_refused(typed: str) -> None:
    with pytest.raises(BadSoHieu):
        parse_ref(typed)


def test_two_terms_load_the_older_keeps_the_bare_id(tmp_path: Path) -> None:
    write(tmp_path, "directives/124-2023.md", NEW)
    write(tmp_path, "directives/124-2018.md", OLD)
    result = load_library(tmp_path)
    assert result.problems == []
    assert sorted(loaded.doc.id for loaded in result.docs) == ["124-qd-tw", "124-qd-tw-2023"]


def test_the_same_number_and_year_twice_is_a_duplicate(tmp_path: Path) -> None:
    write(tmp_path, "directives/a.md", OLD)
    write(tmp_path, "directives/b.md", OLD.replace("giám sát", "theo dõi"))
    problems = load_library(tmp_path).problems
    assert any(p.startswith("directives/b.md: trùng mã '124-qd-tw' với directives/a.md")
               for p in problems), problems


def test_content_check_refuses_an_ambiguous_link_and_takes_one_with_the_year(
        tmp_path: Path) -> None:
    write(tmp_path, "directives/old.md", OLD)
    write(tmp_path, "directives/new.md", NEW)
    write(tmp_path, "directives/later.md", directive(
        "130-QĐ/TW", title="Quy định thay thế", issued="2025-09-01",
        extra="replaces: [124-QĐ/TW]"))
    problems = load_library(tmp_path).problems
    assert any("directives/later.md: replaces: 124-QĐ/TW khớp 2 văn bản (ban hành năm 2018, "
               "2023); ghi kèm năm, ví dụ 124-QĐ/TW (2023)" in p for p in problems), problems
    write(tmp_path, "directives/new.md", NEW.replace(
        "key_points", "replaced_by: [130-QĐ/TW]\nended: 2025-09-01\nkey_points"))
    write(tmp_path, "directives/later.md", directive(
        "130-QĐ/TW", title="Quy định thay thế", issued="2025-09-01",
        extra="replaces: [124-QĐ/TW năm 2023]"))
    assert load_library(tmp_path).problems == []
    # The other end must name the newer one, not the older one of the same số hiệu.
    write(tmp_path, "directives/old.md", OLD.replace(
        "key_points", "replaced_by: [130-QĐ/TW]\nended: 2025-09-01\nkey_points"))
    write(tmp_path, "directives/new.md", NEW)
    problems = load_library(tmp_path).problems
    assert any(p.startswith("directives/later.md: replaces: 124-QĐ/TW (2023), nhưng "
                            "directives/new.md không ghi replaced_by") for p in problems), problems


async def test_progress_on_the_older_document_survives_a_newer_one(deps: Deps,
                                                                  tmp_path: Path) -> None:
    write(tmp_path, "directives/124-2018.md", OLD)
    await import_folder(deps, tmp_path)
    await deps.library.ack("124-qd-tw", "m1", "cb-a1")
    write(tmp_path, "directives/124-2023.md", NEW)
    summary = await import_folder(deps, tmp_path)
    assert (summary.added, summary.updated, summary.unchanged) == (1, 0, 1)
    library = await deps.library.snapshot()
    assert library.entries["124-qd-tw"].issued.year == 2018  # type: ignore[union-attr]
    assert library.entries["124-qd-tw-2023"].issued.year == 2023  # type: ignore[union-attr]
    assert await deps.library.has_acked("124-qd-tw", "m1")
    assert not await deps.library.has_acked("124-qd-tw-2023", "m1")
    assert [e.id for e in library.numbered("124-QĐ/TW")] == ["124-qd-tw-2023", "124-qd-tw"]
    assert [e.id for e in library.numbered("124-QĐ/TW 2018")] == ["124-qd-tw"]


async def test_the_store_keeps_the_id_a_document_already_has(deps: Deps,
                                                             tmp_path: Path) -> None:
    # The newer document was stored first (published from the chat, say): it keeps the bare
    # id, and the older one, imported later, gets the year.
    write(tmp_path / "a", "directives/124-2023.md", NEW)
    await import_folder(deps, tmp_path / "a")
    write(tmp_path / "b", "directives/124-2023.md", NEW)
    write(tmp_path / "b", "directives/124-2018.md", OLD)
    summary = await import_folder(deps, tmp_path / "b")
    assert (summary.added, summary.unchanged) == (1, 1)
    library = await deps.library.snapshot()
    assert library.entries["124-qd-tw"].issued.year == 2023  # type: ignore[union-attr]
    assert library.entries["124-qd-tw-2018"].issued.year == 2018  # type: ignore[union-attr]
    again = await import_folder(deps, tmp_path / "b")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)


@pytest.fixture
async def two_terms(deps: Deps, tmp_path: Path) -> None:
    # 130-QĐ/TW was stored while its related 124-QĐ/TW was unique; the newer 124 came later.
    write(tmp_path / "a", "directives/124-2018.md", OLD)
    write(tmp_path / "a", "directives/130.md", directive(
        "130-QĐ/TW", title="Văn bản liên quan", issued="2025-09-01",
        extra="related: [124-QĐ/TW]"))
    await import_folder(deps, tmp_path / "a")
    write(tmp_path / "b", "directives/124-2023.md", NEW)
    await import_folder(deps, tmp_path / "b")


def test_content_check_refuses_an_ambiguous_related_document(tmp_path: Path) -> None:
    write(tmp_path, "directives/old.md", OLD)
    write(tmp_path, "directives/new.md", NEW)
    write(tmp_path, "directives/130.md", directive(
        "130-QĐ/TW", title="Văn bản liên quan", issued="2025-09-01",
        extra="related: [124-QĐ/TW, 999-QĐ/TW]"))
    problems = load_library(tmp_path).problems
    assert problems == ["directives/130.md: related: 124-QĐ/TW khớp 2 văn bản (ban hành năm "
                        "2018, 2023); ghi kèm năm, ví dụ 124-QĐ/TW (2023)"]


def test_content_check_on_the_command_line_refuses_an_ambiguous_link(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "directives/old.md", OLD)
    write(tmp_path, "directives/new.md", NEW)
    write(tmp_path, "directives/130.md", directive(
        "130-QĐ/TW", title="Văn bản thay thế", issued="2025-09-01",
        extra="replaces: [124-QĐ/TW]"))
    assert main(["content", "check", "--dir", str(tmp_path)]) == 1
    assert "ghi kèm năm, ví dụ 124-QĐ/TW (2023)" in capsys.readouterr().err


async def test_a_member_chooses_between_two_terms_by_button(deps: Deps, two_terms: None) -> None:
    await make_member(deps, user_id="m", unit="cb-a1")
    chat = Chat(Dispatcher(build_router(), deps), "m")
    await chat.say("/vanban 124-QĐ/TW")
    assert "2 văn bản cùng số hiệu 124-QĐ/TW" in chat.text
    assert "đánh lại từ đầu ở mỗi khóa" in chat.text
    await chat.press("(04/10/2023)")
    assert "kiểm điểm và đánh giá hằng năm" in chat.text
    await chat.say("/vanban 124-QĐ/TW năm 2018")  # the year names one directly
    assert "giám sát đạo đức cán bộ" in chat.text and "cùng số hiệu" not in chat.text
    await chat.say("/vanban 130-QĐ/TW")  # unique: opens at once, links to both terms
    assert "Văn bản liên quan" in chat.text
    assert {"› Quy định 124-QĐ/TW (2018)", "› Quy định 124-QĐ/TW (2023)"} <= set(chat.labels())
    await chat.say("/vanban 999-QĐ/TW")
    assert "chưa có văn bản số 999-QĐ/TW" in chat.text
    await chat.say("/vanban xyz")
    assert "không đúng dạng" in chat.text
    await chat.say("/timkiem 124-QĐ/TW")
    assert "Có 2 văn bản cùng số hiệu này" in chat.text
    assert "(02/02/2018)" in chat.text and "(04/10/2023)" in chat.text


async def test_the_choice_works_by_typed_numbers(deps: Deps, two_terms: None) -> None:
    await make_member(deps, channel="zalo", user_id="z", unit="cb-a1")
    chat = Chat(Dispatcher(build_router(), deps), "z", channel="zalo", buttons=False)
    await chat.say("/vanban 124-qd/tw")
    assert "Đồng chí chọn văn bản cần xem" in chat.text
    await chat.choose("(02/02/2018)")
    assert "giám sát đạo đức cán bộ" in chat.text


async def test_publishing_the_same_number_with_another_year_is_a_new_document(
        deps: Deps, dispatcher: Dispatcher, two_terms: None) -> None:
    await make_member(deps, user_id="c", unit="cb-a1", grants=((Role.CADRE, "cb-a1"),))
    chat = Chat(dispatcher, "c")
    await chat.press_raw("pub.r|cb-a1")
    await chat.say("124-QĐ/TW")
    assert "thư viện đã có Quy định 124-QĐ/TW ngày 04/10/2023" in chat.text
    assert "thuộc cấp khác quản lý" in chat.text and "văn bản mới cùng số hiệu" in chat.text
    await chat.say("Quy định mới của chi bộ cùng số")
    await chat.say("04/10/2023")  # the year of a document this cadre may not touch
    assert "thuộc cấp khác quản lý, đồng chí không cập nhật được" in chat.text
    await chat.say("05/01/2026")
    await chat.say("Chi bộ A1")
    await chat.say("Tóm tắt nội dung của văn bản mới.")
    await chat.press("Bỏ qua")
    await chat.press("Đăng văn bản")
    library = await deps.library.snapshot()
    assert [e.issued.year for e in library.numbered("124-QĐ/TW")  # type: ignore[union-attr]
            ] == [2026, 2023, 2018]
    assert library.entries["124-qd-tw-2026"].audience == "cb-a1"
    assert library.entries["124-qd-tw"].title == "Quy định về giám sát đạo đức cán bộ"
