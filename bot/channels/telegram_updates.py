"""Telegram updates read straight from the Bot API's JSON into dvbot's `Incoming`.

Turning every update into PTB objects (`Update.de_json`) and passing it through PTB's
Application cost about as much CPU as a whole bare echo bot (bench/throughput.py), and dvbot
reads a handful of fields. This module reads those fields from the parsed JSON instead,
following the Bot API's Update object (https://core.telegram.org/bots/api#update) and the
rules PTB's `effective_chat` / `effective_user` applied before:

- a `message` or a `callback_query` from a person in a private chat is handled; everything
  else (edits, channel posts, group chats, chat member changes, kinds Telegram adds later) is
  ignored, as it was;
- a field dvbot reads that has the wrong type makes the update malformed (`BadUpdate`), so a
  webhook answers 400 before the update_id is taken; fields it does not read are not looked at.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.engine.messages import FileRef, Incoming

CHANNEL = "telegram"
PRIVATE = "private"

Download = Callable[[str], Awaitable[bytes]]  # a file_id's content, from getFile
Json = dict[str, Any]


class BadUpdate(ValueError):
    """The body is not a Bot API update (or a field dvbot reads has the wrong type)."""


@dataclass(frozen=True)
class Inbound:
    """One update dvbot acts on: the neutral `Incoming` plus what the reply path needs."""

    update_id: int
    incoming: Incoming
    query_id: str | None = None  # a pressed button's callback query, answered first
    origin: int | None = None  # message_id the pressed button was on (edited in place)

    @property
    def account(self) -> str:
        """Whose update it is: one account's updates are handled in order."""
        return self.incoming.user_id


def update_id(data: object) -> int:
    """The update's id; raises BadUpdate for a body that has none."""
    if not isinstance(data, dict):
        raise BadUpdate("an update is a JSON object")
    value = data.get("update_id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadUpdate("update_id must be an integer")
    return value


def parse_update(data: object, download: Download) -> Inbound | None:
    """The update as dvbot handles it, or None for one it ignores."""
    number = update_id(data)
    assert isinstance(data, dict)  # checked by update_id
    query = _object(data, "callback_query")
    if query is not None:
        return _pressed(number, query, download)
    message = _object(data, "message")
    if message is not None:
        return _sent(number, message, download)
    return None


def _pressed(number: int, query: Json, download: Download) -> Inbound | None:
    """A button press; like PTB, its chat is that of the message the button was on."""
    message = _object(query, "message")
    base = _base(query, message)
    if base is None or message is None:
        return None
    # An "inaccessible" message (too old to be returned) has date 0: sent anew, not edited.
    origin = _int(message, "message_id") if _int(message, "date", 0) else None
    data = _str(query, "data")
    return Inbound(number, _with(base, action=data or ""), query_id=_str(query, "id"),
                   origin=origin)


def _sent(number: int, message: Json, download: Download) -> Inbound | None:
    """A message: its text, or the document or largest photo it carries."""
    base = _base(message, message)
    if base is None:
        return None
    document = _object(message, "document")
    if document is not None:
        ref = FileRef(_file_id(document), "document", _str(document, "file_name") or "",
                      _str(document, "mime_type") or "", _int(document, "file_size", 0),
                      fetch=_fetcher(download, _file_id(document)))
        return Inbound(number, _with(base, file=ref, text=_str(message, "caption")))
    photos = message.get("photo")
    if photos:
        if not isinstance(photos, list) or not isinstance(photos[-1], dict):
            raise BadUpdate("photo must be a list of sizes")
        largest: Json = photos[-1]  # Telegram lists the sizes smallest first
        # Downloadable like documents: proposals check their photos really are images.
        ref = FileRef(_file_id(largest), "photo", size=_int(largest, "file_size", 0),
                      fetch=_fetcher(download, _file_id(largest)))
        return Inbound(number, _with(base, file=ref, text=_str(message, "caption")))
    return Inbound(number, _with(base, text=_str(message, "text")))


def _base(sender: Json, message: Json | None) -> Incoming | None:
    """Who wrote, in which chat; None unless a person in a private chat."""
    user = _object(sender, "from")
    chat = _object(message, "chat") if message is not None else None
    if user is None or chat is None or _str(chat, "type") != PRIVATE:
        return None
    first = _str(user, "first_name") or ""
    last = _str(user, "last_name")
    return Incoming(channel=CHANNEL, user_id=str(_int(user, "id")),
                    chat_id=str(_int(chat, "id")),
                    display_name=f"{first} {last}" if last else first)


def _with(base: Incoming, **fields: Any) -> Incoming:
    """`base` with the content fields set (cheaper than dataclasses.replace)."""
    return Incoming(base.channel, base.user_id, base.chat_id,
                    display_name=base.display_name, **fields)


def _fetcher(download: Download, file_id: str) -> Callable[[], Awaitable[bytes]]:
    return lambda: download(file_id)


def _file_id(value: Json) -> str:
    file_id = _str(value, "file_id")
    if not file_id:
        raise BadUpdate("a file without file_id")
    return file_id


def _object(value: Json, key: str) -> Json | None:
    found = value.get(key)
    if found is None or isinstance(found, dict):
        return found
    raise BadUpdate(f"{key} must be an object")


def _str(value: Json, key: str) -> str | None:
    found = value.get(key)
    if found is None or isinstance(found, str):
        return found
    raise BadUpdate(f"{key} must be a string")


def _int(value: Json, key: str, default: int | None = None) -> int:
    found = value.get(key, default)
    if isinstance(found, int) and not isinstance(found, bool):
        return found
    raise BadUpdate(f"{key} must be an integer")
