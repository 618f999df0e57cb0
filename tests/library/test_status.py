"""Legal status of directives: validation, `content check` of replaces/replaced_by both ways,
lists without superseded documents, search ranking, and the banner in the chat."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.library.loader import load_library
from bot.org.models import Role
from handlers import build_router
from tests.conftest import make_member
from tests.handlers.chat import Chat
from tests.library.helpers import CONTENT, directive, import_folder, import_shipped, write

OLD = directive("7-QĐ/ĐU", title="Quy chế dân vận cũ của Đảng ủy", issued="2019-01-10",
                extra="replaced_by: [9-QĐ/ĐU]\nended: 2024-03-05")
NEW = directive("9-QĐ/ĐU", title="Quy chế dân vận mới của Đảng ủy", issued="2024-03-05",
                extra="replaces: [7-QĐ/ĐU]")


def test_shipped_content_checks_clean() -> None:
    result = load_library(CONTENT)
    assert result.problems == []
    by_id = {loaded.doc.id: loaded.doc for loaded in result.docs}
    old, new = by_id["290-qd-tw"], by_id["23-qd-tw"]
    assert not old.current and old.replaced_by == ["23-QĐ/TW"]  # type: ignore[union-attr]
    assert new.current and new.replaces == ["290-QĐ/TW"]  # type: ignore[union-attr]


def test_both_ends_agree(tmp_path: Path) -> None:
    write(tmp_path, "directives/old.md", OLD)
    write(tmp_path, "directives/new.md", NEW)
    assert load_library(tmp_path).problems == []


@pytest.mark.parametrize(("old", "new", "expected"), [
    (OLD, NEW.replace("replaces: [7-QĐ/ĐU]", ""),
     "directives/old.md: replaced_by: 09-QĐ/ĐU, nhưng directives/new.md không ghi replaces"),
    (OLD.replace("replaced_by: [9-QĐ/ĐU]\nended: 2024-03-05", ""), NEW,
     "directives/new.md: replaces: 07-QĐ/ĐU, nhưng directives/old.md không ghi replaced_by"),
    (OLD.replace("9-QĐ/ĐU]", "99-QĐ/ĐU]"), NEW,
     "directives/old.md: replaced_by: 99-QĐ/ĐU không có trong thư viện"),
])
def test_links_that_disagree_are_named(tmp_path: Path, old: str, new: str,
                                       expected: str | None) -> None:
    write(tmp_path, "directives/old.md", old)
    write(tmp_path, "directives/new.md", new)
    problems = load_library(tmp_path).problems
    if expected is None:
        assert problems == []
    else:
        assert any(p.startswith(expected) for p in problems), problems


def test_external_references_are_allowed_but_not_for_documents_in_the_library(
        tmp_path: Path) -> None:
    write(tmp_path, "directives/a.md", directive(
        "3-NQ/ĐU", extra="replaces: [1-NQ/ĐU]\nexternal: [1-NQ/ĐU]"))
    assert load_library(tmp_path).problems == []
    write(tmp_path, "directives/b.md", directive(
        "4-NQ/ĐU", extra="related: [3-NQ/ĐU]\nexternal: [3-NQ/ĐU]"))
    assert load_library(tmp_path).problems == [
        "directives/b.md: external: 03-NQ/ĐU đã có trong thư viện, bỏ khỏi external"]


@pytest.mark.parametrize(("extra", "expected"), [
    ("replaced_by: [9-QĐ/ĐU]", "ended: văn bản hết hiệu lực cần ghi ngày hết hiệu lực"),
    ("status: hết hiệu lực", "ended: văn bản hết hiệu lực cần ghi ngày hết hiệu lực"),
    ("status: hiệu lực\nended: 2024-05-01", "status: văn bản đã có replaced_by hoặc ended"),
    ("status: con hieu luc", "status: phải là một trong"),
    ("status: hết hiệu lực\nended: 2020-01-01", "ended: ngày hết hiệu lực trước ngày ban hành"),
])
def test_status_must_be_complete(tmp_path: Path, extra: str, expected: str) -> None:
    write(tmp_path, "directives/x.md", directive(extra=extra))
    problems = load_library(tmp_path).problems
    assert any(expected in p for p in problems), problems


async def test_lists_and_search_put_superseded_documents_aside(deps: Deps) -> None:
    await import_shipped(deps)
    library = await deps.library.snapshot()
    assert "290-qd-tw" not in [e.id for e in library.directives()]
    assert [e.id for e in library.superseded()] == ["290-qd-tw"]
    found = [e.id for e in library.search("quy che cong tac dan van")]
    assert found.index("23-qd-tw") < found.index("290-qd-tw")
    assert library.search("290-QĐ/TW")[0].id == "290-qd-tw"  # its own số hiệu still finds it


async def type_number(chat: Chat, label: str) -> None:
    """Answer by the number of the option whose label contains `label` (console, Zalo)."""
    await chat.say(str(next(i for i, x in enumerate(chat.labels()) if label in x) + 1))


async def test_banner_and_archive_by_typed_numbers(deps: Deps) -> None:
    await import_shipped(deps)
    await make_member(deps, channel="console", user_id="m", unit="cb-a1", name="Lê Thị Học")
    member = Chat(Dispatcher(build_router(), deps), "m", channel="console", buttons=False)
    await member.say("/vanban")
    assert "290-QĐ/TW" not in member.text and "23-QĐ/TW" in member.text
    await type_number(member, "Văn bản đã hết hiệu lực (1)")
    assert "290-QĐ/TW" in member.text and "thay thế bởi Quyết định 23-QĐ/TW" in member.text
    await type_number(member, "290-QĐ/TW")
    assert "VĂN BẢN ĐÃ HẾT HIỆU LỰC từ ngày 30/7/2021" in member.text
    assert "hết hiệu lực từ 30/7/2021, được thay thế bởi Quyết định 23-QĐ/TW" in member.text
    assert "› Quyết định 23-QĐ/TW" in member.labels()
    await type_number(member, "Đọc thêm")
    assert member.text.startswith("⚠️ VĂN BẢN ĐÃ HẾT HIỆU LỰC")
    await member.press_raw("doc|23-qd-tw")
    assert "Tình trạng: còn hiệu lực" in member.text and "HẾT HIỆU LỰC" not in member.text


async def test_no_coverage_or_reminder_for_a_superseded_document(deps: Deps) -> None:
    await import_folder(deps, CONTENT)
    await make_member(deps, user_id="c", unit="khoi", name="Cán bộ Khối",
                      grants=((Role.CADRE, "khoi"),))
    cadre = Chat(Dispatcher(build_router(), deps), "c")
    await cadre.press_raw("cov")
    assert "290-QĐ/TW" not in " ".join(cadre.labels())
    await cadre.press_raw("doc|290-qd-tw")
    assert "Báo cáo nghiên cứu" not in cadre.labels()
    for payload in ("cov.d|290-qd-tw", "cov.u|290-qd-tw|khoi", "cov.n|290-qd-tw|khoi|0",
                    "cov.r|290-qd-tw|khoi", "cov.rr|290-qd-tw|khoi"):
        await cadre.press_raw(payload)
        assert "đã hết hiệu lực" in cadre.text, payload
