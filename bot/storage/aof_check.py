"""Silent data loss at start: Valkey loads a damaged AOF tail by cutting it off.

With `aof-load-truncated yes` (the default) a server whose AOF ends mid-command (a crash during
a write, a full disk) drops the incomplete tail and starts as if nothing happened: only its log
says so. The embedded store reads the log of each start it makes; a truncation is logged as an
ERROR and recorded next to the AOF, tied to that server's pid, so the /healthz of every dvbot
process using that server reports it until the next clean start. (An external Redis keeps its
log to itself: check the server's own log there.)
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path

from bot.storage.valkey_process import pid_alive, write_private

log = logging.getLogger("dvbot.store")

MARKER = "load-warning.json"
_SIGNS = ("short read while loading the AOF", "Truncating the AOF", "aof-load-truncated")


def truncation_lines(log_path: Path, offset: int) -> list[str]:
    """The server's log lines since `offset` that tell of a truncated AOF."""
    try:
        with log_path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return [line.strip() for line in text.splitlines() if any(s in line for s in _SIGNS)]


def note_start(state_dir: Path, log_path: Path, offset: int, pid: int) -> str | None:
    """After a start: log and record a truncated load, or clear an old record."""
    lines = truncation_lines(log_path, offset)
    marker = state_dir / MARKER
    if not lines:
        with contextlib.suppress(FileNotFoundError):
            marker.unlink()
        return None
    message = ("the embedded Valkey cut off a damaged end of its AOF when it started: the "
               "last writes before the crash are LOST. Server log: " + " | ".join(lines))
    log.error("%s", message)
    write_private(marker, json.dumps({"pid": pid, "at": time.time(), "lines": lines}))
    return message


def load_warning(data_dir: Path) -> str | None:
    """What /healthz says while the server that truncated its AOF is still running."""
    try:
        record = json.loads((data_dir / "valkey" / MARKER).read_text(encoding="utf-8"))
        pid, lines = int(record["pid"]), [str(line) for line in record["lines"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not pid_alive(pid):
        return None
    return ("Kho dữ liệu nhúng đã cắt bỏ phần cuối hỏng của tệp AOF khi khởi động: các ghi "
            "cuối cùng trước sự cố đã bị mất. " + " | ".join(lines))
