"""The code standards are part of the suite: `mypy --strict` and `ruff` clean on bot/ and
handlers/ (and ruff on tests/), so `pytest` alone tells a contributor whether a change is done."""

from __future__ import annotations

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
