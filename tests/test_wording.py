"""Words the language review removed cannot come back: every string literal in bot/ and
handlers/ that a person may read (it has Vietnamese letters) is scanned, and so is content/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bot import wording
from bot.formatting import short, vn_day, vn_number

ROOT = Path(__file__).resolve().parent.parent
VIETNAMESE = re.compile(r"[àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ]",
                        re.IGNORECASE)
# word (case-insensitive, whole word) -> what to write instead
BANNED = {
    "xoá": "xóa", "khoá": "khóa", "tổ chức Đảng": "tổ chức đảng",
    "đường link": "đường dẫn", "link": "đường dẫn", "demo": "dùng thử",
    "kênh": "ứng dụng (Telegram, Zalo)", "trợ lý số": "bot",
    "không có thật": "không hợp lệ", "có phạm vi quản lý": "được phân công phụ trách đơn vị",
    "có phạm vi phụ trách": "được phân công", "dấu vết ai": "thông tin ai",
    "Tác giả": "Người đề xuất", "Xin cảm ơn!": "Cảm ơn đồng chí!",
    "chờ công nhận ở cấp trên": "chờ cấp trên xem xét",
}
CASE_SENSITIVE = {"tổ chức Đảng", "Tác giả"}


def _pattern(word: str) -> re.Pattern[str]:
    flags = 0 if word in CASE_SENSITIVE else re.IGNORECASE
    return re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", flags)


PATTERNS = {word: _pattern(word) for word in BANNED}


def shown_strings(path: Path) -> list[tuple[int, str]]:
    """String literals with Vietnamese letters, docstrings left out (they are for developers)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                                | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings and VIETNAMESE.search(node.value):
            found.append((node.lineno, node.value))
    return found


def test_no_banned_words_in_what_the_bot_says() -> None:
    offenders = []
    for folder in ("bot", "handlers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line, text in shown_strings(path):
                for word, pattern in PATTERNS.items():
                    if pattern.search(text):
                        offenders.append(f"{path.relative_to(ROOT)}:{line}: {word!r} → "
                                         f"{BANNED[word]!r}")
    assert offenders == []


def test_no_banned_spellings_in_content() -> None:
    offenders = []
    for path in sorted((ROOT / "content").rglob("*")):
        if path.suffix not in (".md", ".yaml", ".yml") or path.name == "README.md":
            continue  # README.md is for developers and editors, in English
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("#") and path.suffix != ".md":
                continue  # source notes quote titles as published
            for word in ("xoá", "khoá", "demo", "đường link"):
                if PATTERNS[word].search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {word!r}")
    assert offenders == []


def test_the_scan_sees_strings_the_bot_shows() -> None:
    """The scanner is not blind: it finds a banned word in a reply-like literal."""
    sample = ROOT / "tests" / "_wording_sample.py"
    try:
        sample.write_text('TEXT = "Đồng chí mở đường link mời"\n', encoding="utf-8")
        [(_, text)] = shown_strings(sample)
        assert PATTERNS["đường link"].search(text)
    finally:
        sample.unlink()


def test_numbers_dates_and_labels() -> None:
    from datetime import date

    assert vn_number(3000) == "3.000" and vn_number(11000) == "11.000" and vn_number(5) == "5"
    assert vn_day(date(2024, 5, 9)) == "09/5/2024" and vn_day(date(2025, 1, 3)) == "03/01/2025"
    assert vn_day(date(2026, 11, 26)) == "26/11/2026"
    label = short("Dân vận khéo trong cải cách thủ tục hành chính cấp xã", 44)
    assert label.endswith("…") and len(label) <= 44
    assert label == "Dân vận khéo trong cải cách thủ tục hành…"


def test_one_option_is_named_not_ranged() -> None:
    assert "từ 1 đến 1" not in wording.pick_number(1)
    assert wording.pick_number(4) == "Xin đồng chí trả lời bằng một số từ 1 đến 4."


def test_survey_intro_is_not_said_twice() -> None:
    """Regression: the template's intro repeated (and overstated) the anonymity line the bot
    adds itself, so "Khảo sát ẩn danh…" was printed twice."""
    for path in (ROOT / "content" / "surveys").glob("*.yaml"):
        assert "ẩn danh" not in path.read_text(encoding="utf-8").split("questions:")[0] \
            .split("intro:", 1)[-1].split("anonymous:")[0].lower(), path.name
