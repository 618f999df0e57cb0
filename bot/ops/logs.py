"""Logging set-up: one format, noisy libraries quieted, secrets scrubbed from every record."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex


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


def setup_logging(level: str, secrets: list[str], fmt: str = "text",
                  path: Path | None = None) -> None:
    """Configure the root logger to stderr (or the file `path`), scrubbing `secrets`."""
    handler: logging.Handler
    if path is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Telegram URLs contain the token.
    # PTB warns on every 429 that RetryAfter.retry_after will become a timedelta; our retry
    # code already accepts both, so the warning is noise in an operator's log.
    warnings.filterwarnings("ignore", message=".*retry_after.*", category=DeprecationWarning)
    quiet_loggers(root.level)


def quiet_loggers(level: int) -> None:
    """Loggers kept above `level`: noisy ones, and those that print whole requests below
    WARNING (httpx and aiohttp every URL and access line), and python-telegram-bot's, which at
    DEBUG logs every update (who wrote what: an anonymous answer or thread next to the sender's
    id) and the parameters of every Bot API call; they stay at INFO even at DEBUG."""
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler", "aiohttp",
                  "hpack", "matplotlib", "PIL", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, level))
    logging.getLogger("telegram").setLevel(max(logging.INFO, level))


# --- operations: JSON logs with a request id ---------------------------------------
class RequestId:
    """The id of the update being handled, carried by a context variable (one per task)."""

    var: contextvars.ContextVar[str] = contextvars.ContextVar("dvbot_request_id", default="")

    @classmethod
    def new(cls) -> contextvars.Token[str]:
        """Give the current task a fresh id; reset with the returned token."""
        return cls.var.set(token_hex(6))

    @classmethod
    def reset(cls, token: contextvars.Token[str]) -> None:
        """Back to the id (or none) the task had before."""
        cls.var.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record (already scrubbed by RedactSecrets) as JSON."""
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = RequestId.var.get()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The plain format, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Prefix the request id so an operator can grep one update's lines."""
        text = super().format(record)
        request_id = RequestId.var.get()
        return f"{text} [req={request_id}]" if request_id else text
