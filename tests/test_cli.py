"""`dvbot` admin commands against the real test Valkey (DVBOT_REDIS_URL set)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.cli import main

UNITS = """
units:
  - {id: khoi, name: Đảng bộ Khối Thử nghiệm, kind: dang_bo_khoi}
  - {id: cb-1, name: Chi bộ Một, kind: chi_bo, parent: khoi}
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, valkey_url: str, tmp_path: Path, redis: Redis) -> Path:
    """A clean store and environment; runs in tmp_path so no .env is picked up."""
    for name in ("DVBOT_TELEGRAM_TOKEN", "DVBOT_WEBHOOK_URL", "DVBOT_TELEGRAM_BOT_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DVBOT_REDIS_URL", valkey_url)
    monkeypatch.chdir(tmp_path)
    units = tmp_path / "units.yaml"
    units.write_text(UNITS, encoding="utf-8")
    return units


def test_units_invite_roles(env: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["units", "import", str(env)]) == 0
    assert "2 đơn vị mới" in capsys.readouterr().out
    assert main(["units", "import", str(env)]) == 0
    assert "0 đơn vị mới, 0 đơn vị cập nhật" in capsys.readouterr().out
    assert main(["units", "list"]) == 0
    assert "  cb-1  Chi bộ Một  (Chi bộ trực thuộc)" in capsys.readouterr().out

    monkeypatch.setenv("DVBOT_TELEGRAM_BOT_USERNAME", "dvbot_khoi_bot")
    assert main(["invite", "create", "--unit", "khoi", "--role", "admin"]) == 0
    out = capsys.readouterr().out
    code = re.search(r"Mã mời: (\w{10})", out)
    assert code is not None
    assert f"https://t.me/dvbot_khoi_bot?start={code.group(1)}" in out
    assert main(["invite", "list"]) == 0
    assert f"{code.group(1)}\tkhoi\tadmin\t0/1" in capsys.readouterr().out
    assert main(["invite", "revoke", code.group(1).lower()]) == 0
    assert main(["invite", "list"]) == 0
    assert "đã thu hồi" in capsys.readouterr().out


def test_roles_grant_and_revoke(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from bot.app import make_deps
    from bot.settings import load_settings
    from bot.storage.connection import connect

    main(["units", "import", str(env)])

    async def add_member() -> str:
        settings = load_settings()
        assert settings.redis_url is not None
        client = connect(settings.redis_url.get_secret_value())
        deps = make_deps(settings, client)
        member = await deps.members.register(channel="telegram", user_id="1", name="Lê Văn A",
                                             unit="cb-1", grants=[], now=deps.clock())
        await client.aclose()
        return member.id

    member_id = asyncio.run(add_member())
    capsys.readouterr()
    assert main(["roles", "grant", member_id, "cadre", "--unit", "cb-1"]) == 0
    assert "cadre@cb-1" in capsys.readouterr().out
    assert main(["members", "list"]) == 0
    assert f"{member_id}\tLê Văn A\tcb-1\tcadre@cb-1" in capsys.readouterr().out
    assert main(["roles", "revoke", member_id, "cadre", "--unit", "cb-1"]) == 0
    assert "member" in capsys.readouterr().out
    assert main(["roles", "grant", "999", "cadre", "--unit", "cb-1"]) == 1
    assert "không có thành viên" in capsys.readouterr().err


def test_bad_inputs_give_one_clear_line(env: Path, capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    assert main(["invite", "create", "--unit", "nowhere"]) == 1
    assert "không có đơn vị 'nowhere'" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("units:\n  - {id: a, name: Đơn vị A, parent: zz}\n", encoding="utf-8")
    assert main(["units", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "chưa nhập gì" in err and "'zz'" in err
    assert main(["units", "import", str(tmp_path / "missing.yaml")]) == 1
    assert "không đọc được" in capsys.readouterr().err


@pytest.mark.parametrize(("env_vars", "expected"), [
    ({}, "DVBOT_TELEGRAM_TOKEN"),
    ({"DVBOT_HTTP_PORT": "tám nghìn"}, "DVBOT_HTTP_PORT"),
    ({"DVBOT_LOG_LEVEL": "LOUD"}, "DVBOT_LOG_LEVEL"),
    ({"DVBOT_TELEGRAM_TOKEN": "1:x", "DVBOT_WEBHOOK_URL": "https://a.example"},
     "DVBOT_WEBHOOK_SECRET"),
    ({"DVBOT_TELEGRAM_API_URL": "api.telegram.org"}, "DVBOT_TELEGRAM_API_URL"),
])
def test_settings_errors_are_one_line_without_traceback(
        tmp_path: Path, env_vars: dict[str, str], expected: str) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("DVBOT_")}
    env.update(env_vars, DVBOT_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run([sys.executable, "-m", "bot", "run"], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert expected in lines[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["run", "worker"])
def test_external_store_without_a_survey_secret_is_refused(tmp_path: Path, command: str) -> None:
    """Regression: with `compose --scale`, each replica made its own secret in its own /data,
    and members reaching another replica were told the survey was not for their unit."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("DVBOT_")}
    env.update(DVBOT_TELEGRAM_TOKEN="1:x", DVBOT_REDIS_URL="redis://127.0.0.1:9/0",
               DVBOT_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run([sys.executable, "-m", "bot", command], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "DVBOT_SURVEY_SECRET" in lines[0] and "mọi tiến trình" in lines[0]
    assert not (tmp_path / "data" / "survey-secret.key").exists()  # no secret of its own


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import load_settings

    for name in ("DVBOT_HTTP_PORT", "DVBOT_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DVBOT_HTTP_PORT=9123\nDVBOT_LOG_LEVEL=debug\n")
    settings = load_settings()
    assert settings.http_port == 9123 and settings.log_level == "DEBUG"


def test_members_by_subtree_revoke_says_what_is_missing_and_invite_shows_start(
        env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Regressions: `members list --unit khoi` left out the chi bộ below it, an unknown unit
    printed nothing, revoking a role the member lacks printed success, and `invite create`
    without a token printed no way in."""
    import asyncio

    from bot.app import make_deps
    from bot.settings import load_settings
    from bot.storage.connection import connect

    main(["units", "import", str(env)])

    async def add_member() -> str:
        settings = load_settings()
        assert settings.redis_url is not None
        client = connect(settings.redis_url.get_secret_value())
        member = await make_deps(settings, client).members.register(
            channel="telegram", user_id="7", name="Trần Thị B", unit="cb-1", grants=[],
            now=make_deps(settings, client).clock())
        await client.aclose()
        return member.id

    member_id = asyncio.run(add_member())
    capsys.readouterr()
    assert main(["members", "list", "--unit", "khoi"]) == 0
    assert f"{member_id}\tTrần Thị B\tcb-1" in capsys.readouterr().out
    assert main(["members", "list", "--unit", "nowhere"]) == 1
    assert "không có đơn vị 'nowhere'" in capsys.readouterr().err

    assert main(["roles", "revoke", member_id, "reviewer", "--unit", "cb-1"]) == 1
    err = capsys.readouterr().err
    assert "không có vai trò reviewer tại cb-1" in err and "không có gì để thu hồi" in err

    assert main(["invite", "create", "--unit", "cb-1"]) == 0
    out = capsys.readouterr().out
    code = re.search(r"Mã mời: (\w{10})", out)
    assert code is not None
    assert f"\n    /start {code.group(1)}\n" in out and "t.me" not in out
    assert "DVBOT_TELEGRAM_BOT_USERNAME" in out
