"""How logs name an account: a pseudonym that is stable within one process and means nothing
outside it.

Log lines help an operator follow one account through a burst of errors, but a chat id in a
log ties a person to what they were doing (refused while answering a survey, say), and logs
are copied far more freely than the store. The key is drawn at random when the process
starts and never written anywhere, so yesterday's logs cannot be matched to anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


class LogIds:
    """Per-process pseudonyms for log lines (the key is a constant of the running process)."""

    KEY = secrets.token_bytes(16)

    @classmethod
    def of(cls, account: str) -> str:
        """`acct-` and 10 hex digits of a keyed hash of `account`."""
        return "acct-" + hmac.new(cls.KEY, account.encode(), hashlib.sha256).hexdigest()[:10]


def log_id(account: str) -> str:
    """The pseudonym of `account` (a chat id, `channel:user`, a member id) in this process."""
    return LogIds.of(account)
