"""Issue 6 in `dvbot console --demo`: a broadcast composed and confirmed by typed numbers is
delivered inside the console process (the demo admin sees theirs printed)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.demo import demo_people
from bot.org.models import Grant, Member, Role
from handlers import build_router
from tests.channels.test_console import run_console


def menu_number(label: str) -> str:
    """The number of `label` in the demo admin's menu (the menu grows as flows are added)."""
    admin = Member(id="1", name="Demo", unit="khoi", joined_at=datetime.now(UTC),
                   grants=[Grant(role=Role.ADMIN, unit="khoi")])
    labels = [button.label for button in build_router().menu_for(admin)]
    return str(labels.index(label) + 1)


def test_demo_broadcast_by_typed_numbers(tmp_path: Path) -> None:
    lines = [menu_number("Gửi thông báo"), "Họp toàn thể đảng viên & người lao động",
             "#1",  # digits alone are text on this step: Tiếp tục: chọn người nhận
             "1",  # ✓ Chọn Đảng bộ Khối
             "5",  # Tiếp tục › (after the four audience options)
             "2",  # Không cần nút «Đã nhận»
             "1",  # Gửi ngay
             "1"]  # ✓ Xác nhận gửi
    result = run_console(tmp_path, lines, "--demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"{lines[0]}. Gửi thông báo" in out
    people = len(demo_people(Path(__file__).parents[2] / "content" / "demo"))
    assert f"Số người nhận: {people - 1} đồng chí" in out  # everyone but the author
    assert "Đã xác nhận thông báo #1" in out
    # Delivered by the console's own sender before it exited: the author is told it went out,
    # and gets no copy of their own announcement.
    assert "[Tin nhắn mới]\nThông báo #1 đã gửi xong" in out
    assert "[Tin nhắn mới]\nTHÔNG BÁO — Đảng bộ Khối" not in out
    assert "Traceback" not in result.stderr
