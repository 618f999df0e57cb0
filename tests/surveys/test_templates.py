"""Shipped templates load and validate; a broken one is reported with file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from bot.surveys.models import Kind
from bot.surveys.templates import TemplateError, load_templates


def test_shipped_templates(settings: Settings) -> None:
    templates = {t.id: t.spec for t in load_templates(settings.content_path() / "surveys")}
    assert set(templates) == {"tam-tu-hang-thang", "trien-khai-chi-thi", "mot-cua"}
    kinds = {q.kind for spec in templates.values() for q in spec.questions}
    assert kinds == set(Kind)
    assert all(1 <= len(spec.questions) <= 10 for spec in templates.values())


def test_broken_template_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "hong.yaml").write_text(
        "title: Thử\nanonymous: true\nallow_change: true\nquestions:\n"
        "  - {text: Chọn gì, kind: single, options: [Một]}\n", encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        load_templates(tmp_path)
    text = "\n".join(caught.value.problems)
    assert "hong.yaml: questions.0" in text and "ít nhất 2 phương án" in text
