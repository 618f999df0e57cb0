"""The "already answered" mark of an anonymous survey: HMAC(key, member id).

The key is derived from the survey's random salt (in Redis, deleted when the survey closes)
and a deployment secret that is NOT in Redis (DVBOT_SURVEY_SECRET, or a 0600 file generated
under DATA_DIR on first use). Someone holding only a copy of Redis therefore cannot tell whose
mark is whose, and once the salt is gone nobody can.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from bot.privacy.files import private_dir

SECRET_FILE = "survey-secret.key"  # noqa: S105 - a file name, not a secret


def deployment_secret(configured: str | None, data_dir: Path) -> bytes:
    """The configured secret, else the one in DATA_DIR (created atomically, mode 0600).

    Every process reads it at start, so this is also where DATA_DIR is made private (0700)."""
    private_dir(data_dir)
    if configured:
        return configured.encode()
    path = data_dir / SECRET_FILE
    if not path.exists():
        try:
            # O_EXCL: two processes starting together must not each write their own secret.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def new_salt() -> str:
    """A fresh per-survey salt."""
    return secrets.token_hex(16)


def mark(secret: bytes, salt: str, member_id: str) -> str:
    """The survey-specific mark of a member (hex; not reversible without both keys)."""
    key = hmac.new(secret, salt.encode(), hashlib.sha256).digest()
    return hmac.new(key, member_id.encode(), hashlib.sha256).hexdigest()[:40]
