"""The code standards are part of the suite: `mypy --strict` and `ruff` clean on bot/ and
handlers/ (and ruff on tests/), so `pytest` alone tells a contributor whether a change is done."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)


def test_mypy_strict() -> None:
    result = _run("mypy", "--strict", "bot", "handlers")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff() -> None:
    result = _run("ruff", "check", "bot", "handlers", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_only_the_telegram_adapter_imports_telegram() -> None:
    """Flows and core stay channel-neutral: `telegram` is imported only by the adapter's
    modules, bot/channels/telegram*.py (the same holds for Zalo, which has no SDK)."""
    pattern = re.compile(r"^\s*(from|import)\s+telegram\b", re.MULTILINE)
    offenders = [str(path.relative_to(ROOT))
                 for folder in ("bot", "handlers") for path in (ROOT / folder).rglob("*.py")
                 if pattern.search(path.read_text(encoding="utf-8"))
                 and not (path.parent.name == "channels" and path.name.startswith("telegram"))]
    assert offenders == []
