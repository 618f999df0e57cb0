"""Logging set-up: one format, noisy libraries quieted, secrets scrubbed from every record."""

from __future__ import annotations

import logging
import sys
import warnings


class RedactSecrets(logging.Filter):
    """Replace known secrets (bot token, passwords) wherever they appear in a record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, scrub it, and keep the record."""
        if not self._secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in self._secrets:
            message = message.replace(secret, "***")
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, "***")
        record.msg, record.args = message, None
        return True


def setup_logging(level: str, secrets: list[str]) -> None:
    """Configure the root logger to stderr, scrubbing `secrets` from all output."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Telegram URLs contain the token.
    # PTB warns on every 429 that RetryAfter.retry_after will become a timedelta; our retry
    # code already accepts both, so the warning is noise in an operator's log.
    warnings.filterwarnings("ignore", message=".*retry_after.*", category=DeprecationWarning)
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
