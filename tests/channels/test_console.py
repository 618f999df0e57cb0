"""`dvbot console --demo` driven through a pipe, as a script or a newcomer would use it.

Runs the installed `dvbot` script as a real process with no DVBOT_REDIS_URL, so the default
embedded Valkey (with AOF in DVBOT_DATA_DIR) is exercised too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bot.channels.console import render
from bot.engine.messages import Button, Reply

DVBOT = str(Path(sys.executable).with_name("dvbot"))


def run_console(tmp_path: Path, lines: list[str], *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVBOT_")}
    env["DVBOT_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run([DVBOT, "console", *extra], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
                          check=False)


def menu_number(tmp_path: Path, label: str) -> str:
    """The number the demo menu gives `label` (the menu grows as flows are added)."""
    found = re.search(rf"(\d+)\. {label}", run_console(tmp_path, [], "--demo").stdout)
    assert found is not None, label
    return found.group(1)


def test_demo_through_a_pipe(tmp_path: Path) -> None:
    # menu → Tạo mã mời → 1 chọn Khối → 1 Đảng viên → 1 "1 người" → code
    invite = menu_number(tmp_path, "Tạo mã mời")
    result = run_console(tmp_path, [invite, "1", "1", "1", "/me", "/huy"], "--demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Chế độ dùng thử" in out
    assert "Đồng chí Quản trị viên dùng thử — Đảng bộ Khối các cơ quan tỉnh (dùng thử)" in out
    assert f"{invite}. Tạo mã mời" in out
    assert "Đã tạo mã mời" in out and "Mã mời: " in out
    assert "Vai trò:" in out and "Quản trị" in out
    assert "Traceback" not in result.stderr
    # The embedded server was shut down at the end of input: nothing is left running.
    assert not (tmp_path / "data" / "valkey" / "server.json").exists()


def test_demo_data_persists_and_reload_is_idempotent(tmp_path: Path) -> None:
    run_console(tmp_path, ["/me"], "--demo")
    second = run_console(tmp_path, ["/me"], "--demo")
    assert second.returncode == 0, second.stderr
    assert "Mã thành viên: 1" in second.stdout  # the same admin, not a new one


def test_log_lines_stay_out_of_the_conversation(tmp_path: Path) -> None:
    """Regression: log lines ("2026-… WARNING dvbot.dispatch: forbidden: …") were printed
    between the bot's answers; they go to DVBOT_DATA_DIR/console.log instead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVBOT_")}
    env.update(DVBOT_DATA_DIR=str(tmp_path / "data"), DVBOT_LOG_LEVEL="DEBUG")
    result = subprocess.run([DVBOT, "console", "--demo"], input="/me\n/vanban\n",
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    log_line = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d.*\b(DEBUG|INFO|WARNING|ERROR)\b")
    assert not log_line.search(result.stdout) and not log_line.search(result.stderr)
    assert "Thông tin của tôi" in result.stdout
    logged = (tmp_path / "data" / "console.log").read_text(encoding="utf-8")
    assert log_line.search(logged) and "dvbot" in logged


def test_plain_console_without_token_asks_for_an_invite(tmp_path: Path) -> None:
    result = run_console(tmp_path, ["xin chào", "ABCDE-FGHJK"])
    assert result.returncode == 0, result.stderr
    assert "mã mời" in result.stdout
    assert "Mã mời không đúng" in result.stdout


def test_empty_input_ends_cleanly(tmp_path: Path) -> None:
    result = run_console(tmp_path, [], "--demo")
    assert result.returncode == 0, result.stderr


def test_render_numbers_only_the_last_buttoned_reply() -> None:
    text = render([Reply("<b>A</b> &amp; B", buttons=((Button("x", "menu"),),)),
                   Reply("Chọn:", buttons=((Button("Một", "menu"), Button("Hai", "me")),))])
    assert "A & B" in text and "<b>" not in text
    assert "• x" in text
    assert "1. Một\n2. Hai\n(Trả lời bằng số 1–2)" in text


def test_demo_reads_and_acknowledges_a_directive(tmp_path: Path) -> None:
    """Issue 3: the demo has the starter library; everything works by typed numbers."""
    directives = menu_number(tmp_path, "Văn bản chỉ đạo")
    result = run_console(tmp_path, [directives, "1", "2", "/tiendo"], "--demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Văn bản chỉ đạo (mới nhất trước)" in out
    assert "Quy định 144-QĐ/TW" in out and "Nội dung chính" in out
    assert "Đã ghi nhận: đồng chí đã nghiên cứu" in out
    assert "Đồng chí đã nghiên cứu 1/10 văn bản chỉ đạo" in out


def test_demo_sends_an_anonymous_tam_tu_and_reads_it_as_a_cadre(tmp_path: Path) -> None:
    """/tamtu by typed numbers in the console, then the queue as the demo's admin sees it."""
    lines = ["/tamtu", "1", "1", "Đề nghị tổ chức lại lịch họp để bớt trùng giờ làm việc.",
             "không", "2", "1", "/tamtucanbo", "1"]
    result = run_console(tmp_path, lines, "--demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Đã gửi tâm tư, kiến nghị. Mã: TT-" in out
    code = out.split("Mã: ")[1].split(".")[0]
    assert "Đang chờ: 1" in out and f"Tâm tư, kiến nghị {code}" in out
    assert "Người gửi: ẩn danh" in out and "Quản trị viên dùng thử" not in out.split(code)[-1]
