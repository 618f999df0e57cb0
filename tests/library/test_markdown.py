"""Content bodies as a phone shows them: every shipped file, every channel, no stray markup.

Regression: the line-by-line converter kept hard-wrapped source lines as ragged line breaks and
left `*`/`**` in the text (or bolded the wrong words) when emphasis spanned two source lines
(25-nq-tw, chuan-muc-dao-duc, dan-chu-co-so, dan-van-kheo, phong-cach-dan-van,
phuong-cham-6-dan, tac-pham-dan-van); a link `[t](https://a/x"y)` produced `href="https://a/x"y"`
and overlapping `**`/`*` produced crossed tags.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import pytest

from bot.formatting import to_plain
from bot.library.markdown import render, split_front_matter, to_html, to_text

CONTENT = Path(__file__).resolve().parents[2] / "content"
FILES = sorted([*CONTENT.glob("directives/*.md"), *CONTENT.glob("materials/*.md")])
CHANNELS = ["telegram", "zalo", "zalo_oa", "console"]
TELEGRAM_TAGS = {"b", "i", "code", "pre", "a"}
URL = re.compile(r"https?://\S+")
STRAY = ["**", "*", "_", "[", "](", "`", "#"]
# A line that is not the end of a sentence: the next line starts with a lower-case letter.
FIRST_LETTER = re.compile(r"[^\W\d_]")


class TagChecker(HTMLParser):
    """Fails on tags outside Telegram's subset, crossed or unclosed tags, unquoted attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in TELEGRAM_TAGS, tag
        if tag == "a":
            [(name, value)] = attrs
            assert name == "href" and value is not None
            self.hrefs.append(value)
        else:
            assert not attrs, attrs
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack}"
        self.stack.pop()


def well_formed(markup: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(markup)
    checker.close()
    assert not checker.stack, f"unclosed {checker.stack}"
    return checker


def body_of(path: Path) -> str:
    return split_front_matter(path.read_text(encoding="utf-8"))[1]


def broken_lines(text: str) -> list[str]:
    """Lines followed by a line that carries on the same sentence."""
    lines = text.split("\n")
    found = []
    for line, after in pairwise(lines):
        letter = FIRST_LETTER.search(after)
        if line.strip() and after.strip() and letter and letter.start() <= 2 \
                and letter.group().islower():
            found.append(f"{line!r} / {after!r}")
    return found


def test_the_content_files_are_found() -> None:
    assert len(FILES) >= 17


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_content_file_reads_well(path: Path, channel: str) -> None:
    markup = render(body_of(path), channel)
    if channel == "telegram":
        well_formed(markup)
    else:
        assert "<" not in markup.replace("&lt;", ""), "plain channels get no tags"
    shown = to_plain(markup)  # what the member reads
    words = URL.sub("", shown)
    for mark in STRAY:
        assert mark not in words, f"{mark!r} left in {path.name} on {channel}"
    assert broken_lines(shown) == [], path.name
    assert "\n\n\n" not in shown


def test_emphasis_across_lines_bolds_the_right_words() -> None:
    body = body_of(CONTENT / "materials/phuong-cham-6-dan.md")
    html = to_html(body)
    assert ("<b>“dân biết, dân bàn, dân làm, dân kiểm tra, dân giám sát, dân thụ hưởng”</b>; "
            "trong đó <b>“dân thụ hưởng”</b> là điểm mới") in html


def test_soft_wrapped_lines_join_hard_breaks_stay() -> None:
    assert to_html("một hai\nba bốn") == "một hai ba bốn"
    assert to_html("một hai  \nba bốn") == "một hai\nba bốn"
    assert to_text("- mục một\n  còn tiếp\n- mục hai") == "• mục một còn tiếp\n• mục hai"


def test_link_with_a_quote_cannot_break_out_of_href() -> None:
    html = to_html('[t](https://a/x"y) and [u](https://a/p\'q)')
    checker = well_formed(html)
    assert checker.hrefs == ["https://a/x%22y", "https://a/p'q"]
    assert 'href="https://a/x"y"' not in html
    assert "'" not in html.split(">t<")[0].split("href=")[1][1:-1]


def test_overlapping_emphasis_never_crosses_tags() -> None:
    for source in ("**a *b** c*", "*a **b* c**", "**a *b c** d* e", "***x** y*", "_a **b_ c**"):
        well_formed(to_html(source))


def test_raw_html_and_unsafe_links_are_text() -> None:
    html = to_html('<b onclick="x">hi</b> [x](javascript:alert(1)) <script>')
    well_formed(html)
    assert "javascript" not in html.replace("[x](javascript:alert(1))", "")
    assert "&lt;b onclick" in html and "&lt;script&gt;" in html


def test_plain_text_writes_links_out() -> None:
    text = to_plain(to_text("Xem [Báo Sơn La](https://baosonla.org.vn/a_b) và <https://x.vn>."))
    assert text == "Xem Báo Sơn La (https://baosonla.org.vn/a_b) và https://x.vn."


def test_long_bodies_split_into_parts_telegram_accepts() -> None:
    """A paragraph longer than a message, cut inside bold text or a link, still gives parts
    whose tags balance and no part over the limit."""
    from bot.formatting import split_html

    bold = "**" + " ".join(["chữ đậm"] * 300) + "**"
    body = bold + " " + "[" + " ".join(["liên kết dài"] * 50) + "](https://a.vn/x)"
    html = to_html(body + "\n\n" + "đoạn thường " * 400)
    parts = split_html(html, 1000)
    assert len(parts) > 3
    for part in parts:
        assert len(part) <= 1000
        well_formed(part)
    joined = to_plain(" ".join(parts))
    assert joined.count("chữ đậm") == 300 and "**" not in joined
    assert sum(part.count('<a href="https://a.vn/x">') for part in parts) >= 2  # reopened
