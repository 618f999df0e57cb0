"""Front matter splitting and Markdown rendering of content bodies for each channel.

Bodies are parsed by markdown-it-py (CommonMark, raw HTML off) and rendered into what a phone
shows well: the Telegram HTML subset (`<b>`, `<i>`, `<code>`, `<pre>`, `<a href>`), or plain text
for Zalo and the console. Soft-wrapped source lines are joined into one paragraph, emphasis is
nested the way the parser built it (never crossed tags), and every text and attribute value is
escaped. Plain text is returned HTML-escaped too, because replies carry HTML that those channels
strip (`bot.formatting.to_plain`): what the member reads is the text itself, links as "text (URL)".
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from bot.formatting import esc

_FENCE = "---"
HTML_CHANNELS = frozenset({"telegram"})  # the others show plain text


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


def render(markdown: str, channel: str) -> str:
    """The body in the channel's format: Telegram HTML, or escaped plain text elsewhere."""
    return to_html(markdown) if channel in HTML_CHANNELS else to_text(markdown)


def without_title(markdown: str, title: str) -> str:
    """The body without a first heading that only repeats the title shown above it."""
    first, _, rest = markdown.lstrip().partition("\n")
    repeats = first.startswith("#") and first.lstrip("#").strip() == title.strip()
    return rest.lstrip() if repeats else markdown


def link(url: str, label: str | None = None) -> str:
    """An `<a>` for a URL, both escaped (quotes too: the URL sits in an attribute)."""
    return f'<a href="{html.escape(url, quote=True)}">{esc(label or url)}</a>'


def to_html(markdown: str) -> str:
    """Render a Markdown body as the Telegram HTML subset, paragraphs separated by blank lines."""
    return _Renderer(markup=True).document(markdown)


def to_text(markdown: str) -> str:
    """Render a Markdown body as plain text (HTML-escaped), links written out after their text."""
    return _Renderer(markup=False).document(markdown)


def _parser() -> MarkdownIt:
    # CommonMark without raw HTML: a tag typed in a content file is shown as text, never sent
    # as markup; images have no place in a chat message and are rendered as their link.
    return MarkdownIt("commonmark", {"html": False})


@dataclass(frozen=True)
class _Renderer:
    markup: bool  # Telegram HTML tags, or plain text

    def document(self, markdown: str) -> str:
        tree = SyntaxTreeNode(_parser().parse(markdown))
        return "\n\n".join(b for b in self._blocks(tree.children, 0) if b).strip()

    def _blocks(self, nodes: list[SyntaxTreeNode], depth: int) -> list[str]:
        return [self._block(node, depth) for node in nodes]

    def _block(self, node: SyntaxTreeNode, depth: int) -> str:
        kind = node.type
        if kind == "heading":
            return self._tag("b", self._inline(node.children, frozenset({"b"})))
        if kind == "paragraph":
            return self._inline(node.children, frozenset())
        if kind in ("bullet_list", "ordered_list"):
            return self._list(node, depth)
        if kind == "blockquote":
            inner = "\n".join(b for b in self._blocks(node.children, depth) if b)
            return "\n".join(self._tag("i", line) for line in inner.split("\n"))
        if kind in ("fence", "code_block"):
            return self._tag("pre", esc(node.content.rstrip("\n")))
        return ""  # hr: the blank line between blocks is the break; html is off

    def _list(self, node: SyntaxTreeNode, depth: int) -> str:
        ordered = node.type == "ordered_list"
        start = int(str(node.attrs.get("start", 1)))
        indent = "   " * depth
        items: list[str] = []
        for number, item in enumerate(node.children, start=start):
            mark = f"{number}." if ordered else "•"
            parts = [p for p in self._blocks(item.children, depth + 1) if p] or [""]
            # Paragraphs and nested lists of an item follow its first line, one per line.
            items.append("\n".join([f"{indent}{mark} {parts[0]}", *parts[1:]]))
        return "\n".join(items)

    def _inline(self, nodes: list[SyntaxTreeNode], inside: frozenset[str]) -> str:
        return "".join(self._span(node, inside) for node in nodes)

    def _span(self, node: SyntaxTreeNode, inside: frozenset[str]) -> str:
        kind = node.type
        if kind == "text":
            return esc(node.content)
        if kind == "softbreak":
            return " "  # soft-wrapped source lines join into one paragraph
        if kind == "hardbreak":
            return "\n"
        if kind == "code_inline":
            return self._tag("code", esc(node.content))
        if kind in _SPAN_TAGS:
            tag = _SPAN_TAGS[kind]
            inner = self._inline(node.children, inside | {tag})
            # Telegram rejects nothing here, but <b><b>…</b></b> is noise: one tag is enough.
            return inner if tag in inside else self._tag(tag, inner)
        if kind in ("link", "image"):
            return self._link(node, inside)
        return self._inline(node.children, inside)  # "inline": the paragraph's text

    def _link(self, node: SyntaxTreeNode, inside: frozenset[str]) -> str:
        key = "href" if node.type == "link" else "src"
        href = str(node.attrs.get(key) or "")
        label = self._inline(node.children, inside)
        if not href.startswith(("http://", "https://")):
            return label  # relative or other links cannot be opened from a chat
        if not self.markup:
            return label if html.unescape(label) == href else f"{label} ({esc(href)})"
        # The URL goes into an attribute: quotes must be escaped too, not only < > &.
        return f'<a href="{html.escape(href, quote=True)}">{label or esc(href)}</a>'

    def _tag(self, name: str, inner: str) -> str:
        return f"<{name}>{inner}</{name}>" if self.markup and inner else inner


_SPAN_TAGS = {"strong": "b", "em": "i", "s": "s"}
