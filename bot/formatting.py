"""Text helpers: escaping user text into HTML replies, diacritic-insensitive matching, splitting."""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
_TAG = re.compile(r"</?(?:b|i|u|s|code|pre|a)(?:\s[^>]*)?>")


def esc(value: object) -> str:
    """Escape user-provided text before it goes into an HTML reply."""
    return html.escape(str(value), quote=False)


def to_plain(markup: str) -> str:
    """Strip our HTML subset for channels that show plain text (console, Zalo)."""
    return html.unescape(_TAG.sub("", markup))


def nfc(value: str) -> str:
    """Normalize to NFC: phones send both composed and decomposed Vietnamese."""
    return unicodedata.normalize("NFC", value)


def fold(value: str) -> str:
    """Lower-case and strip diacritics (đ→d) for forgiving keyword matching."""
    decomposed = unicodedata.normalize("NFD", value.casefold().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def split_text(value: str, limit: int) -> list[str]:
    """Split on paragraph, then line, then word boundaries so each part fits `limit`."""
    parts: list[str] = []
    rest = value
    while len(rest) > limit:
        cut = limit
        for separator in ("\n\n", "\n", " "):
            found = rest.rfind(separator, 0, limit)
            if found > limit // 4:  # a boundary this early would leave a sliver of a message
                cut = found
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def vn_datetime(moment: datetime, *, with_time: bool = True) -> str:
    """Format in Vietnam time, as people there write it: 21/11/2026 14:05."""
    local = moment.astimezone(VIETNAM)
    return local.strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")


def short(text: str, limit: int = 44) -> str:
    """Trim a title for a button label, with "…" so the cut shows (never mid-word silently)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
