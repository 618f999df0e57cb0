"""What a channel gives the outbox: deliver one message to one account and say how it went."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.engine.messages import Reply


class Status(StrEnum):
    """How one delivery attempt ended."""

    SENT = "sent"
    RETRY_AFTER = "retry_after"  # the platform asked every sender to slow down (429)
    TRANSIENT = "transient"  # network trouble or a 5xx: try again later
    FINAL = "final"  # this account cannot be reached: never retried


# Final reasons. "blocked" is counted on its own in reports; the others count as failures.
BLOCKED = "blocked"
DEACTIVATED = "deactivated"
CHAT_NOT_FOUND = "chat_not_found"
FORBIDDEN = "forbidden"
BAD_REQUEST = "bad_request"
NO_ACCOUNT = "no_account"
GAVE_UP = "gave_up"  # transient errors every time, until the attempts ran out


@dataclass(frozen=True)
class SendResult:
    """The outcome of one delivery attempt."""

    status: Status
    seconds: float = 0.0  # how long to pause everyone, for RETRY_AFTER
    reason: str = ""  # why, for FINAL (one of the reasons above) and TRANSIENT

    @classmethod
    def sent(cls) -> SendResult:
        """Delivered."""
        return cls(Status.SENT)

    @classmethod
    def retry_after(cls, seconds: float) -> SendResult:
        """The platform said: nobody sends for `seconds`."""
        return cls(Status.RETRY_AFTER, seconds=max(seconds, 0.0))

    @classmethod
    def transient(cls, reason: str) -> SendResult:
        """Try again after a backoff."""
        return cls(Status.TRANSIENT, reason=reason)

    @classmethod
    def final(cls, reason: str) -> SendResult:
        """The account is unreachable; count it and move on."""
        return cls(Status.FINAL, reason=reason)


class Sender(Protocol):
    """A channel's outbound side. Each `deliver` is exactly one platform message (one rate
    slot): a reply carries either text, or one photo/document whose caption is the text."""

    channel: str

    async def deliver(self, address: str, reply: Reply, *, paid: bool = False) -> SendResult:
        """Send `reply` to `address` (for Telegram private chats, the user id)."""
        ...
