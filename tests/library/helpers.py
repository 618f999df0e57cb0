"""Helpers for library tests: write small content folders, import the shipped library."""

from __future__ import annotations

from pathlib import Path

from bot.deps import Deps
from bot.library.importer import ImportSummary, import_library
from bot.library.loader import load_library

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ROOT / "content"


def write(root: Path, relative: str, text: str) -> Path:
    """Write one content file (creating folders)."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def directive(so_hieu: str = "12-NQ/ĐU", *, title: str = "Về tăng cường công tác dân vận",
              issued: str = "2024-03-05", extra: str = "", body: str = "Nội dung.") -> str:
    """A valid directive file, with `extra` front-matter lines."""
    return f"""
---
so_hieu: {so_hieu}
issuer: Ban Thường vụ Đảng ủy
issued: {issued}
title: {title}
summary: Tóm tắt đủ dài của văn bản thử nghiệm.
key_points: [Ý thứ nhất, Ý thứ hai]
{extra}
---
{body}
"""


def material(*, topic: str = "Dân vận khéo", extra: str = "", quiz: str = "") -> str:
    """A valid material file."""
    return f"""
---
title: Tài liệu thử nghiệm
topic: {topic}
summary: Tóm tắt đủ dài của tài liệu thử nghiệm.
{extra}
{quiz}
---
Thân bài.
"""


async def import_folder(deps: Deps, root: Path) -> ImportSummary:
    """Validate and import a content folder into the test store."""
    return await import_library(deps.library, load_library(root), await deps.units.tree(),
                                deps.clock())


async def import_shipped(deps: Deps) -> ImportSummary:
    """Import the real starter library from content/."""
    return await import_folder(deps, CONTENT)
