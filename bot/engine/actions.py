"""Button payloads: a route name plus short arguments, packed into Telegram's 64-byte limit.

Payloads come back from the client and can be forged, so parsing is strict and every handler
re-checks permissions on the server; a payload that does not parse is never acted on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64
SEPARATOR = "|"
_ROUTE = re.compile(r"^[a-z][a-z0-9_.]{0,23}$")
_ARG = re.compile(r"^[A-Za-z0-9_.:+-]{1,40}$")


class BadPayload(ValueError):
    """The payload is garbled, too long or names no known route."""


@dataclass(frozen=True)
class Action:
    """A parsed button press."""

    route: str
    args: tuple[str, ...] = ()

    def pack(self) -> str:
        """Serialize; refuses (at build time) anything Telegram would reject."""
        if not _ROUTE.match(self.route):
            raise BadPayload(f"route {self.route!r} không hợp lệ")
        for arg in self.args:
            if not _ARG.match(arg):
                raise BadPayload(f"tham số {arg!r} không hợp lệ")
        data = SEPARATOR.join((self.route, *self.args))
        if len(data.encode()) > MAX_BYTES:
            raise BadPayload(f"payload dài {len(data.encode())} byte, vượt {MAX_BYTES}")
        return data

    @classmethod
    def parse(cls, data: str) -> Action:
        """Parse a payload from a client; raise BadPayload on anything unexpected."""
        if not data or len(data.encode()) > MAX_BYTES:
            raise BadPayload("payload rỗng hoặc quá dài")
        route, *args = data.split(SEPARATOR)
        if not _ROUTE.match(route) or not all(_ARG.match(arg) for arg in args):
            raise BadPayload("payload sai định dạng")
        return cls(route, tuple(args))


def act(route: str, *args: str) -> str:
    """Build a packed payload in one call (used when declaring buttons)."""
    return Action(route, args).pack()
