"""Pieces the proposal flows share: button-argument helpers and polite refusals (who reviews
what, and telling the author, are in bot.proposals.reviewing)."""

from __future__ import annotations

from bot.engine.dispatcher import notice
from bot.engine.router import Outcome, Request
from bot.org import access
from bot.proposals.service import Refused

FORGED = "Nút bấm thiếu thông tin hoặc không hợp lệ. Đồng chí gõ /menu để bắt đầu lại."


def arg(request: Request, index: int) -> str:
    """A button argument, or Forbidden when the payload lacks it."""
    if index >= len(request.args):
        raise access.Forbidden(FORGED)
    return request.args[index]


def number(request: Request, index: int) -> int:
    """A numeric button argument (a version), or Forbidden."""
    raw = arg(request, index)
    if not raw.isdigit() or len(raw) > 9:
        raise access.Forbidden(FORGED)
    return int(raw)


def refused(request: Request, exc: Refused) -> Outcome:
    """A workflow refusal as a polite notice that keeps whatever is on screen."""
    return notice(str(exc), request.dialog)
