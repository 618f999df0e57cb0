"""Front matter splitting and a tiny Markdown → Telegram-HTML converter for content bodies.

Only what the library needs: headings become bold lines, list items become "• ", and
**bold**, *italic*, `code` and [links](https://…) inline. Everything else is escaped text.
"""

from __future__ import annotations

import re

from bot.formatting import esc

_FENCE = "---"
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_QUOTE = re.compile(r"^>\s?(.*)$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^\s)]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_CODE = re.compile(r"`([^`]+)`")


class FrontMatterError(ValueError):
    """The file does not start with a `---` YAML block closed by another `---` line."""


def split_front_matter(text: str) -> tuple[str, str]:
    """Return (yaml, body) of a Markdown file that starts with a `---` block."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != _FENCE:
        raise FrontMatterError("tệp phải bắt đầu bằng dòng '---' rồi đến phần khai báo YAML")
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == _FENCE:
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1:]).strip()
    raise FrontMatterError("thiếu dòng '---' đóng phần khai báo YAML")


def to_html(markdown: str) -> str:
    """Render a Markdown body as the Telegram HTML subset, paragraphs separated by blank lines."""
    out: list[str] = []
    for raw in markdown.splitlines():
        line = raw.rstrip()
        if not line.strip() or _RULE.match(line):
            if out and out[-1] != "":
                out.append("")
            continue
        out.append(_block(line))
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out)


def _block(line: str) -> str:
    heading = _HEADING.match(line)
    if heading:
        return f"<b>{_inline(heading.group(1))}</b>"
    bullet = _BULLET.match(line)
    if bullet:
        indent = "   " if len(bullet.group(1)) >= 2 else ""
        return f"{indent}• {_inline(bullet.group(2))}"
    quote = _QUOTE.match(line)
    if quote:
        return f"<i>{_inline(quote.group(1))}</i>"
    return _inline(line.strip())


def _inline(text: str) -> str:
    """Escape, then turn the few inline marks into tags."""
    links: list[str] = []

    def keep_link(match: re.Match[str]) -> str:
        links.append(f'<a href="{esc(match.group(2))}">{esc(match.group(1))}</a>')
        return f"\x00{len(links) - 1}\x00"

    html = esc(_LINK.sub(keep_link, text))
    html = _CODE.sub(r"<code>\1</code>", html)
    html = _BOLD.sub(r"<b>\1</b>", html)
    html = _ITALIC.sub(r"<i>\1</i>", html)
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], html)
