"""An operator's first run, with real `dvbot` processes: `cp .env.example .env` works, and a bad
Redis URL or a rejected Telegram token stops start-up with one Vietnamese line (exit code 2),
no secret printed and no "Unclosed client session".

Regressions: with `.env` copied from `.env.example` every command failed ("DVBOT_WEBHOOK_SECRET —
cần 16–256 ký tự" for the empty value, then a traceback for `DVBOT_REDIS_URL=`);
`DVBOT_REDIS_URL=notaurl` gave a traceback; a rejected token gave a 69-line traceback printing the
token and "Unclosed client session"; argparse and pydantic spoke English.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import Settings
from tests.standin.botapi import BotApiStandin

ROOT = Path(__file__).resolve().parent.parent
DVBOT = str(Path(sys.executable).with_name("dvbot"))
REJECTED = "987654321:AAHrejectedTokenSecretPart"
ENGLISH = ("Traceback", "usage:", "positional arguments", "options:", "Input should",
           "String should", "Value error", "Unclosed", "required", "invalid", "Error ")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVBOT_")}
    env.update(extra)
    return env


def _dvbot(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DVBOT, *args], capture_output=True, text=True, env=_env(**env),
                          cwd=cwd, timeout=90, check=False)


def _one_vietnamese_line(stderr: str, *secrets: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    for word in ENGLISH:
        assert word not in stderr, stderr
    for secret in secrets:
        assert secret not in stderr, stderr
    return lines[0]


def test_copied_env_example_just_works(tmp_path: Path) -> None:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    units = str(ROOT / "content" / "demo" / "units.yaml")
    result = _dvbot(tmp_path, "units", "import", units)
    assert result.returncode == 0, result.stderr
    assert "đơn vị mới" in result.stdout
    listed = _dvbot(tmp_path, "units", "list")
    assert listed.returncode == 0 and "khoi" in listed.stdout, listed.stderr
    assert (tmp_path / "data").is_dir()  # DVBOT_DATA_DIR=./data from the copied file


def test_every_setting_is_in_env_example() -> None:
    """The example lists exactly the settings the code reads."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^(DVBOT_[A-Z0-9_]+)=", text, re.MULTILINE))
    read = {f"DVBOT_{name.upper()}" for name in Settings.model_fields}
    assert listed == read


def test_empty_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"DVBOT_{name.upper()}", raising=False)
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    for name in Settings.model_fields:
        monkeypatch.setenv(f"DVBOT_{name.upper()}", "")
    assert Settings(_env_file=None).model_dump() == defaults.model_dump()  # type: ignore[call-arg]


def test_malformed_redis_url_is_one_line(tmp_path: Path) -> None:
    for url in ("notaurl", "http://user:s3cretpass@host:6379/0"):
        result = _dvbot(tmp_path, "units", "list", DVBOT_REDIS_URL=url)
        assert result.returncode == 2
        line = _one_vietnamese_line(result.stderr, "s3cretpass")
        assert line.startswith("dvbot: Cấu hình sai: DVBOT_REDIS_URL")


def test_unreachable_redis_is_one_vietnamese_line(tmp_path: Path) -> None:
    result = _dvbot(tmp_path, "units", "list", DVBOT_REDIS_URL="redis://:s3cretpass@127.0.0.1:1")
    assert result.returncode == 1
    line = _one_vietnamese_line(result.stderr, "s3cretpass")
    assert "Không kết nối được Redis" in line and "không nhận kết nối" in line and ".." not in line


async def _run(cwd: Path, *args: str, **env: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        DVBOT, *args, cwd=cwd, env=_env(**env), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_rejected_token_is_one_line_without_the_token(tmp_path: Path,
                                                            valkey_url: str) -> None:
    async with BotApiStandin(token="123:ABC") as standin:  # answers 401 to any other token
        # An external store needs the shared survey secret, refused before the token otherwise.
        env = {"DVBOT_TELEGRAM_TOKEN": REJECTED, "DVBOT_TELEGRAM_API_URL": standin.url,
               "DVBOT_REDIS_URL": valkey_url, "DVBOT_DATA_DIR": str(tmp_path / "data"),
               "DVBOT_SURVEY_SECRET": "a-shared-secret-for-every-process-0123"}
        for command in ("run", "worker"):
            code, _out, err = await _run(tmp_path, command, **env)
            assert code == 2, err
            line = _one_vietnamese_line(err, REJECTED, REJECTED.split(":")[1])
            assert "Telegram từ chối DVBOT_TELEGRAM_TOKEN" in line
        assert [c.method for c in standin.calls] == ["getMe", "getMe"]


async def test_invite_with_a_rejected_token_still_gives_the_code(tmp_path: Path,
                                                                 valkey_url: str) -> None:
    async with BotApiStandin(token="123:ABC") as standin:
        env = {"DVBOT_TELEGRAM_TOKEN": REJECTED, "DVBOT_TELEGRAM_API_URL": standin.url,
               "DVBOT_REDIS_URL": valkey_url}
        units = str(ROOT / "content" / "demo" / "units.yaml")
        assert (await _run(tmp_path, "units", "import", units, **env))[0] == 0
        code, out, err = await _run(tmp_path, "invite", "create", "--unit", "khoi", **env)
    assert code == 0, err
    invite = re.search(r"Mã mời: (\w{10})", out)
    assert invite is not None
    assert f"\n    /start {invite.group(1)}\n" in out
    assert REJECTED.split(":")[1] not in out + err and "Unclosed" not in err


def test_argparse_speaks_vietnamese(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["invite", "create", "-h"])
    assert done.value.code == 0
    helped = capsys.readouterr().out
    assert helped.startswith("Cách dùng: dvbot invite create")
    assert "tùy chọn:" in helped and "--unit ĐƠN_VỊ" in helped
    assert "xem hướng dẫn này rồi thoát" in helped
    for args, reason in ((["invite", "create"], "thiếu tham số bắt buộc: --unit"),
                         (["roles", "grant", "x", "boss", "--unit", "u"], "không có lựa chọn"),
                         (["invite", "create", "--unit", "u", "--uses", "ba"],
                          "'ba' không phải số nguyên"),
                         (["nosuch"], "LỆNH: không có lựa chọn 'nosuch'")):
        with pytest.raises(SystemExit) as done:
            main(args)
        assert done.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("Cách dùng: dvbot"), err
        assert reason in err
        for word in ("usage:", "required", "invalid choice", "invalid int"):
            assert word not in err


def test_settings_errors_speak_vietnamese(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name, value, reason in (("HTTP_PORT", "abc", "phải là số nguyên"),
                                ("HTTP_PORT", "70000", "phải không quá 65535"),
                                ("SURVEY_MIN_GROUP", "1", "phải từ 2 trở lên"),
                                ("TELEGRAM_RATE", "0", "phải lớn hơn 0"),
                                ("LOG_LEVEL", "LOUD", "phải là một trong các giá trị")):
        monkeypatch.setenv(f"DVBOT_{name}", value)
        assert main(["units", "list"]) == 2
        line = _one_vietnamese_line(capsys.readouterr().err)
        assert line.startswith(f"dvbot: Cấu hình sai: DVBOT_{name} — {reason}"), line
        monkeypatch.delenv(f"DVBOT_{name}")
