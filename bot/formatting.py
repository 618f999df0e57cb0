"""Text helpers: escaping user text into HTML replies, diacritic-insensitive matching, splitting."""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import date, datetime
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


def split_text(value: str, limit: int, *, whole: re.Pattern[str] | None = None) -> list[str]:
    """Split on paragraph, then line, then word boundaries so each part fits `limit`; where
    there is none, cut anywhere but inside a match of `whole` (an HTML tag or entity)."""
    parts: list[str] = []
    rest = value
    while len(rest) > limit:
        cut = limit
        for separator in ("\n\n", "\n", " "):
            found = rest.rfind(separator, 0, limit)
            if found > limit // 4:  # a boundary this early would leave a sliver of a message
                cut = found
                break
        else:
            cut = _outside(rest, limit, whole) if whole is not None else limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _outside(text: str, cut: int, whole: re.Pattern[str]) -> int:
    """`cut`, or the start of the match of `whole` it would fall inside (unless that match
    starts the text: a piece longer than a part has to be cut somewhere)."""
    for match in whole.finditer(text, 0, cut + 1000):
        if match.start() >= cut:
            break
        if match.end() > cut and match.start() > 0:
            return match.start()
    return cut


_OPEN_OR_CLOSE = re.compile(r"<(/?)(b|i|u|s|code|pre|a)(?:\s[^>]*)?>")
_ATOM = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|\w+);")  # never cut inside these
_TAG_ROOM = 64  # closing and reopened tags added to a part


def split_html(value: str, limit: int) -> list[str]:
    """split_text for our HTML subset: never cut inside a tag or an entity (`&amp;`), and a
    tag a cut leaves open is closed at the end of its part and opened again at the start of
    the next (Telegram refuses a message whose tags do not balance)."""
    if len(value) <= limit:  # nothing to cut (the tag room below is only needed for cuts)
        return [value] if value else []
    masked = _OPEN_OR_CLOSE.sub(lambda m: m.group(0).replace(" ", "\x00"), value)
    parts = [p.replace("\x00", " ")
             for p in split_text(masked, limit - _TAG_ROOM, whole=_ATOM)]
    out: list[str] = []
    carried: list[tuple[str, str]] = []  # (name, opening tag) still open
    for part in parts:
        text = "".join(tag for _, tag in carried) + part
        stack: list[tuple[str, str]] = []
        for match in _OPEN_OR_CLOSE.finditer(text):
            if not match.group(1):
                stack.append((match.group(2), match.group(0)))
            elif stack and stack[-1][0] == match.group(2):
                stack.pop()
        out.append(text + "".join(f"</{name}>" for name, _ in reversed(stack)))
        carried = stack
    return out


def vn_datetime(moment: datetime, *, with_time: bool = True) -> str:
    """Format in Vietnam time, as people there write it: 21/11/2026 14:05, 09/5/2024."""
    local = moment.astimezone(VIETNAM)
    day = vn_day(local.date())
    return f"{day} {local:%H:%M}" if with_time else day


def vn_day(value: date) -> str:
    """09/5/2024, 03/01/2025: day with two digits, month without a leading zero except 01 and 02
    (as Nghị định 30/2020/NĐ-CP writes dates, and the content files do)."""
    month = f"{value.month:02d}" if value.month <= 2 else str(value.month)
    return f"{value.day:02d}/{month}/{value.year}"


def vn_number(value: int) -> str:
    """3000 -> '3.000': the Vietnamese thousands separator."""
    return f"{value:,}".replace(",", ".")


def sentence(text: str) -> str:
    """The text with its first letter capitalised, to stand as a sentence on its own."""
    return text[:1].upper() + text[1:]


def short(text: str, limit: int = 44) -> str:
    """Trim a title for a button label at a word boundary, with "…" so the cut shows."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:  # a long last word is cut rather than leaving half a label
        cut = cut[:space]
    return cut.rstrip(" ,;:·—-") + "…"
