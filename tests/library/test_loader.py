"""Content validation: the shipped library passes; every kind of broken file is reported with
its file and field, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.library.loader import load_library
from bot.library.models import Directive, Material
from tests.library.helpers import CONTENT, directive, material, write


def test_shipped_library_is_valid_and_big_enough() -> None:
    result = load_library(CONTENT)
    assert result.problems == []
    directives = [d.doc for d in result.docs if isinstance(d.doc, Directive)]
    materials = [d.doc for d in result.docs if isinstance(d.doc, Material)]
    assert len(directives) >= 8 and len(materials) >= 6
    assert all(m.quiz for m in materials), "every shipped material has a self-check quiz"
    assert all(d.key_points for d in directives)
    by_id = {d.id: d for d in directives}
    assert (by_id["25-nq-tw"].issued.isoformat(), by_id["25-nq-tw"].kind) == ("2013-06-03",
                                                                              "Nghị quyết")
    assert by_id["43-kl-tw"].issued.isoformat() == "2019-01-07"
    assert by_id["23-qd-tw"].issued.isoformat() == "2021-07-30"
    assert (by_id["144-qd-tw"].issued.isoformat(), by_id["144-qd-tw"].kind) == ("2024-05-09",
                                                                                "Quy định")
    topics = {m.topic for m in materials}
    assert {"Dân vận khéo", "Dân chủ ở cơ sở"} <= topics


def test_every_shipped_file_names_its_sources() -> None:
    for path in [*CONTENT.glob("directives/*.md"), *CONTENT.glob("materials/*.md")]:
        assert "# Nguồn" in path.read_text(encoding="utf-8"), path.name


def test_good_small_library(tmp_path: Path) -> None:
    write(tmp_path, "directives/a.md", directive(issued="05/3/2024"))
    write(tmp_path, "materials/hoc-tap.md", material())
    result = load_library(tmp_path)
    assert result.problems == []
    [first, second] = [d.doc for d in result.docs]
    assert isinstance(first, Directive) and first.id == "12-nq-du" and first.so_hieu == "12-NQ/ĐU"
    assert first.kind == "Nghị quyết" and first.issued.isoformat() == "2024-03-05"
    assert isinstance(second, Material) and second.id == "hoc-tap" and second.body == "Thân bài."


@pytest.mark.parametrize(("file", "text", "expected"), [
    ("directives/bad.md", directive("25/NQ-TW"), "directives/bad.md: so_hieu: Số hiệu"),
    ("directives/bad.md", directive(issued="31/02/2024"), "directives/bad.md: issued: ngày"),
    ("directives/bad.md", directive(issued="next week"), "directives/bad.md: issued: ngày"),
    ("directives/bad.md", directive(extra="kind: Chỉ thị"),
     "directives/bad.md: kind: loại văn bản 'Chỉ thị' không khớp"),
    ("directives/bad.md", directive(extra="colour: red"),
     "directives/bad.md: colour: trường này không có"),
    ("directives/bad.md", directive(extra="replaces: [xyz]"), "directives/bad.md: replaces"),
    ("directives/bad.md", directive(extra="audience: Chi Bộ 1"), "directives/bad.md: audience"),
    ("directives/bad.md", directive(extra="source_url: ftp://x"),
     "directives/bad.md: source_url: sai định dạng"),
    ("directives/bad.md", directive().replace("title: Về tăng cường công tác dân vận\n", ""),
     "directives/bad.md: title: thiếu trường bắt buộc"),
    ("directives/bad.md", directive(extra="attachment: files/none.pdf"),
     "directives/bad.md: attachment: không tìm thấy tệp"),
    ("directives/bad.md", "no front matter", "directives/bad.md: tệp phải bắt đầu"),
    ("directives/bad.md", "---\ntitle: [unclosed\n---\n", "directives/bad.md: YAML sai cú pháp"),
    ("materials/Bad_Name.md", material(), "materials/Bad_Name.md: id: sai định dạng"),
    ("materials/q.md", material(quiz="quiz:\n  - question: Câu hỏi một?\n    options: [A, B]\n"
                                     "    correct: 3"),
     "materials/q.md: quiz.1: đáp án đúng phải là số thứ tự từ 1 đến 2"),
    ("materials/q.md", material(quiz="quiz:\n  - question: Câu hỏi một?\n    options: [A]\n"
                                     "    correct: 1"),
     "materials/q.md: quiz.1.options: cần ít nhất 2 mục"),
    ("materials/q.md", material().replace("topic: Dân vận khéo\n", ""),
     "materials/q.md: topic: thiếu trường bắt buộc"),
])
def test_broken_files_name_file_and_field(tmp_path: Path, file: str, text: str,
                                          expected: str) -> None:
    write(tmp_path, file, text)
    result = load_library(tmp_path)
    assert result.docs == []
    assert any(p.startswith(expected) for p in result.problems), result.problems


def test_every_problem_is_listed_and_duplicates_are_caught(tmp_path: Path) -> None:
    write(tmp_path, "directives/a.md", directive("25-NQ/TW"))
    write(tmp_path, "directives/b.md", directive("25-nq/tw"))  # the same số hiệu
    write(tmp_path, "directives/c.md", directive("bad"))
    short = material().replace("Tóm tắt đủ dài của tài liệu thử nghiệm.", "ngắn")
    write(tmp_path, "materials/mot.md", short)
    problems = load_library(tmp_path).problems
    assert len(problems) == 3, problems
    assert any("directives/b.md: trùng mã '25-nq-tw' với directives/a.md" in p for p in problems)
    assert any(p.startswith("directives/c.md: so_hieu") for p in problems)
    assert "materials/mot.md: summary: quá ngắn (tối thiểu 10 ký tự)" in problems


def test_attachment_limits_and_escape(tmp_path: Path) -> None:
    write(tmp_path, "directives/a.md", directive(extra="attachment: files/a.pdf"))
    (tmp_path / "directives/files").mkdir()
    (tmp_path / "directives/files/a.pdf").write_bytes(b"%PDF-1.4 " + b"x" * 2000)
    write(tmp_path, "directives/b.md", directive("13-NQ/ĐU", extra="attachment: ../../x.pdf"))
    (tmp_path.parent / "x.pdf").write_bytes(b"%PDF")
    result = load_library(tmp_path, attachment_limit=1000)
    assert any("a.md: attachment: tệp 'files/a.pdf' nặng" in p for p in result.problems)
    assert any("b.md: attachment: tệp '../../x.pdf' nằm ngoài" in p for p in result.problems)
    ok = load_library(tmp_path / "directives" / ".." , attachment_limit=10_000)
    assert any("nằm ngoài" in p for p in ok.problems)
    assert not any("nặng" in p for p in ok.problems)
