"""What a line typed on a channel without buttons means (Zalo Bot Platform, console).

The rule, in one place:
- A number picks from the numbered options of the last message the member saw. A message
  without numbers clears them, so a number never reaches back to an older screen.
- A screen whose step expects text (a search, a note, a free-text answer) does not number its
  buttons: digits typed there are text. Its buttons are listed as #1, #2… and chosen by that
  prefix or by their words ("bỏ qua", "câu trước"), and the screen says so.
- A notice with buttons (an announcement, "Xem đề xuất") that arrives while no dialog is open
  becomes the numbered options. One that arrives in the middle of a dialog leaves the dialog's
  numbers alone and is answered by its own words ("đã nhận").
- The words of every button on screen, and of recent notices, always work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from bot.engine.conversation import Busy, ConversationStore, Dialog, Options
from bot.engine.messages import Button, Reply
from bot.formatting import fold

MAX_NOTICE_BUTTONS = 16  # the buttons of recent notices stay typeable by their words
_SYMBOLS = re.compile(r"^[^\w]+|[^\w]+$")
_PREFIXED = re.compile(r"^#\s*(\d{1,3})$")
PREFIX, WORDS = "#", "words"  # Reply.keyed modes
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Typed:
    """How the dispatcher must treat one typed line."""

    kind: Literal["pick", "again", "none", "text"]
    action: str = ""
    from_notice: bool = False


def spoken(label: str) -> str:
    """A button label as the words to type: "✓ Đã nhận" → "đã nhận", "« Câu trước" → "câu
    trước" (diacritics kept for display; matching ignores them)."""
    return _SPACES.sub(" ", _SYMBOLS.sub("", label.strip())).lower()


def _key(text: str) -> str:
    return fold(spoken(text))


def _by_words(text: str, pairs: list[tuple[str, str]]) -> str | None:
    """The action whose label's words are exactly `text` (latest first)."""
    key = _key(text)
    if not key:
        return None
    for label, action in reversed(pairs):
        if _key(label) == key:
            return action
    return None


def resolve(text: str, options: Options | None, *, dialog_takes_text: bool,
            in_dialog: bool) -> Typed:
    """What `text` means given the options on screen and the open dialog's step."""
    if options is not None:
        on_screen = list(zip(options.labels, options.actions, strict=True))
        if (action := _by_words(text, on_screen)) is not None:
            return Typed("pick", action)
        notices = [(label, action) for label, action in options.notices]
        if (action := _by_words(text, notices)) is not None:
            return Typed("pick", action, from_notice=True)
    prefixed = _PREFIXED.match(text)
    if prefixed is not None and options is not None and options.actions:
        number = int(prefixed.group(1))
        if 1 <= number <= len(options.actions):
            return Typed("pick", options.actions[number - 1], from_notice=options.notice)
        return Typed("again")
    if not text.isdigit():
        return Typed("text")
    if options is not None and options.actions and not options.keyed:
        number = int(text)
        if 1 <= number <= len(options.actions):
            return Typed("pick", options.actions[number - 1], from_notice=options.notice)
        return Typed("again")
    if dialog_takes_text or in_dialog:
        # Digits are the answer of a text step; a choice step re-shows its own screen.
        return Typed("text")
    return Typed("none")


def keyed_lines(reply: Reply) -> list[str]:
    """The option lines of a reply whose buttons are not chosen by bare numbers."""
    labels = [button.label for row in reply.buttons for button in row]
    if not labels:
        return []
    words = [f"«{spoken(label)}»" for label in labels if spoken(label)]
    listed = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} hoặc {words[-1]}"
    if reply.keyed == WORDS:
        return [f"• {label}" for label in labels] + [f"(Để chọn, gõ {listed})"]
    numbers = "#1" if len(labels) == 1 else f"#1–#{len(labels)}"
    return ([f"#{n} {label}" for n, label in enumerate(labels, start=1)]
            + [f"(Số gõ vào được hiểu là nội dung. Để chọn, gõ {numbers} hoặc {listed})"])


def keyed(replies: list[Reply]) -> list[Reply]:
    """The replies with the buttons of the last one that has any listed as #1, #2…"""
    index = max((i for i, r in enumerate(replies) if r.buttons), default=-1)
    if index < 0:
        return replies
    return [replace(r, keyed=PREFIX) if i == index else r for i, r in enumerate(replies)]


def screen_options(replies: list[Reply], *, keyed: bool,
                   before: Options | None) -> Options | None:
    """What the numbers (or words) mean after these replies: the buttons of the last reply
    that has any; recent notices' words are carried over."""
    notices = before.notices if before is not None else []
    for reply in reversed(replies):
        flat = _flat(reply)
        if flat:
            return Options(labels=[b.label for b in flat], actions=[b.action for b in flat],
                           keyed=keyed, notices=notices)
    return Options(labels=[], actions=[], notices=notices) if notices else None


def _flat(reply: Reply) -> list[Button]:
    return [button for row in reply.buttons for button in row]


async def notice_arrives(conversations: ConversationStore, channel: str, address: str,
                         reply: Reply) -> Reply:
    """A notice is about to be shown to `address`: record what typing will mean next, and
    return the notice as it must be rendered (its buttons by words when a dialog is open)."""
    try:
        async with conversations.locked(channel, address, wait=5.0):
            dialog = await conversations.dialog(channel, address)
            options = await conversations.options(channel, address)
            shown, after = _after_notice(reply, dialog, options)
            if after != options:
                await conversations.save_options(channel, address, after)
            return shown
    except Busy:
        # The member's own message is being answered right now: don't take over its numbers.
        return replace(reply, keyed=WORDS) if reply.buttons else reply


def _after_notice(reply: Reply, dialog: Dialog | None,
                  options: Options | None) -> tuple[Reply, Options | None]:
    """(the notice as shown, the options after it). Outside a dialog a notice replaces the
    screen: its buttons become the numbers, or, without buttons, no number means anything.
    Inside a dialog the dialog keeps its numbers and the notice answers to its words."""
    flat = _flat(reply)
    notices = list(options.notices) if options else []
    notices = [*notices, *([b.label, b.action] for b in flat)][-MAX_NOTICE_BUTTONS:]
    if dialog is not None:
        if not flat:
            return reply, options
        kept = options or Options(labels=[], actions=[])
        return replace(reply, keyed=WORDS), kept.model_copy(update={"notices": notices})
    return reply, Options(labels=[b.label for b in flat], actions=[b.action for b in flat],
                          notices=notices, notice=bool(flat))
