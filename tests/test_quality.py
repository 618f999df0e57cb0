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


# The layers of `bot/__init__.py`, lowest first: a module may import its own layer or lower ones.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("bot.settings", "bot.formatting", "bot.wording", "bot.pydantic_vi", "bot.storage",
     "bot.engine.messages",
     "bot.engine.actions", "bot.org.models", "bot.privacy"),
    ("bot.org", "bot.ops", "bot.delivery", "bot.library", "bot.surveys", "bot.proposals",
     "bot.broadcasts", "bot.tamtu", "bot.engine.conversation", "bot.web.sessions",
     "bot.web.links"),
    ("bot.deps",),
    ("bot.engine",),
    ("handlers",),
    ("bot.channels", "bot.ops.web", "bot.demo", "bot.web"),
    ("bot.app",),
    ("bot.cli", "bot.__main__"),
)


def _layer(module: str) -> int:
    """The layer of the longest prefix in LAYERS that names `module` or a package above it."""
    best, rank = "", -1
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > len(best):
                best, rank = name, index
    assert rank >= 0, f"{module} is in no layer of tests/test_quality.py"
    return rank


def test_nothing_imports_upward() -> None:
    """channels → engine → flows → services → storage: no module imports a higher layer."""
    pattern = re.compile(r"^\s*(?:from|import)\s+((?:bot|handlers)(?:\.\w+)*)", re.MULTILINE)
    bare = re.compile(r"^\s*from\s+(bot|handlers)\s+import\s+([\w, ]+)$", re.MULTILINE)
    offenders = []
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            text = path.read_text(encoding="utf-8")
            targets = [t for t in pattern.findall(text) if t not in {"bot", "handlers"}]
            for package, names in bare.findall(text):  # `from bot import wording`
                targets += [f"{package}.{name.strip()}" for name in names.split(",")]
            for target in targets:
                if _layer(target) > _layer(module):
                    offenders.append(f"{module} -> {target}")
    assert offenders == []
