"""`dvbot console --demo` as a real way to try and operate the bot: any demo person (`--as`,
`/dongvai`), a fresh start (`--reset`), multi-line answers, half-filled forms that survive a
restart, files saved where they can be opened, photos given as a path, and the README's pipe
example giving the same answer every time."""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image

from bot.channels.console import MULTILINE, RESUMED, ConsoleChannel, render
from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.engine.messages import Attachment, Reply
from bot.org.models import Role
from handlers import build_router
from tests.channels.test_console import run_console
from tests.conftest import make_member

PERSONAS = {"admin": "Quản trị viên dùng thử", "dangvien": "Trịnh Văn Nam", "canbo": "Ngô Thị Hạnh",
            "thamdinh-coso": "Lý Văn Sơn", "thamdinh-khoi": "Cao Thị Thu"}


def number(out: str, label: str) -> str:
    """The last number (or #number) the output gives an option containing `label`."""
    found = re.findall(rf"^(#?\d+)\.? [^\n]*{re.escape(label)}", out, re.M)
    assert found, f"{label!r} in:\n{out}"
    return str(found[-1])


def test_sign_in_as_every_persona(tmp_path: Path) -> None:
    for key, name in PERSONAS.items():
        result = run_console(tmp_path, ["/me"], "--demo", "--as", key)
        assert result.returncode == 0, result.stderr
        assert f"Họ và tên: {name}" in result.stdout


def test_an_unknown_person_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    result = run_console(tmp_path, ["/me"], "--demo", "--as", "ai-do")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Không có người mẫu «ai-do»" in result.stderr
    assert "canbo" in result.stderr and "Traceback" not in result.stderr


def test_dongvai_switches_person_in_one_session(tmp_path: Path) -> None:
    result = run_console(tmp_path, ["/dongvai", "/dongvai thamdinh-coso", "/me"], "--demo")
    assert result.returncode == 0, result.stderr
    assert "Lý Văn Sơn — Chi bộ Phòng Nghiệp vụ Y — Người thẩm định" in result.stdout
    assert "Đồng chí đang đóng vai: Lý Văn Sơn" in result.stdout
    assert result.stdout.count("Họ và tên: Lý Văn Sơn") == 1


def test_a_half_filled_survey_form_survives_a_restart_and_takes_lines(tmp_path: Path) -> None:
    first = run_console(tmp_path, [], "--demo", "--as", "canbo").stdout
    create = number(first, "Tạo khảo sát")
    started = run_console(tmp_path, [create, "4", "Khảo sát thử nghiệm"], "--demo", "--as", "canbo")
    assert "Câu 1: chọn loại câu hỏi" in started.stdout
    again = run_console(tmp_path, ["1", "Buổi nào phù hợp?", "Sáng thứ Bảy", "Chiều thứ Sáu", "."],
                        "--demo", "--as", "canbo")
    assert again.returncode == 0, again.stderr
    out = again.stdout
    assert RESUMED in out and "Menu chính" not in out  # no /menu sent over the open form
    assert MULTILINE in out
    assert "a) Sáng thứ Bảy" in out and "b) Chiều thứ Sáu" in out


def test_a_half_filled_announcement_survives_a_restart(tmp_path: Path) -> None:
    first = run_console(tmp_path, [], "--demo", "--as", "canbo").stdout
    send = number(first, "Gửi thông báo")
    run_console(tmp_path, [send, "Họp chi bộ lúc 14 giờ thứ Sáu."], "--demo", "--as", "canbo")
    again = run_console(tmp_path, ["#1"], "--demo", "--as", "canbo").stdout
    assert RESUMED in again and "#1 Tiếp tục: chọn người nhận" in again
    assert "1. ✓ Chọn Chi bộ Văn phòng Sở Y tế" in again.split(RESUMED)[1]  # draft went on


def test_reset_starts_from_fresh_demo_data(tmp_path: Path) -> None:
    first = run_console(tmp_path, [], "--demo", "--as", "canbo").stdout
    run_console(tmp_path, [number(first, "Tạo khảo sát"), "4"], "--demo", "--as", "canbo")
    fresh = run_console(tmp_path, [], "--demo", "--as", "canbo", "--reset")
    assert fresh.returncode == 0, fresh.stderr
    assert "vừa được làm mới" in fresh.stdout
    assert RESUMED not in fresh.stdout and "Menu chính" in fresh.stdout


def test_readme_pipe_example_gives_the_same_answer_every_run(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^printf '([^']*)' \| dvbot console (.*?)\s+#", readme, re.M)
    assert found is not None
    lines = found.group(1).encode().decode("unicode_escape").splitlines()
    args = found.group(2).split()
    runs = [run_console(tmp_path, lines, *args) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    assert runs[0].stdout == runs[1].stdout
    assert "Đã ghi nhận: đồng chí đã nghiên cứu" in runs[1].stdout


def test_files_the_bot_sends_are_saved_with_their_path(tmp_path: Path) -> None:
    source = tmp_path / "ket-qua.csv"
    source.write_text("a,b\n1,2\n", encoding="utf-8")
    files = tmp_path / "data" / "console-files"
    out = render([Reply("", document=Attachment(source, "ket-qua.csv", caption="Kết quả"))],
                 files=files)
    saved = re.search(r"Đã lưu tại: (.+)\)", out)
    assert saved is not None and "[Tệp: ket-qua.csv] Kết quả" in out
    assert Path(saved.group(1)).read_text(encoding="utf-8") == "a,b\n1,2\n"
    assert Path(saved.group(1)).parent == files.resolve()


async def test_a_photo_for_a_proposal_given_as_a_path(deps: Deps, tmp_path: Path) -> None:
    await make_member(deps, channel="console", user_id="m", unit="cb-a1",
                      grants=((Role.MEMBER, "cb-a1"),))
    picture = tmp_path / "anh mo hinh.png"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 40)).save(buffer, format="PNG")
    picture.write_bytes(buffer.getvalue())
    out = io.StringIO()
    console = ConsoleChannel(Dispatcher(build_router(), deps), out, user_id="m")

    async def say(line: str) -> str:
        start = len(out.getvalue())
        await console.line(line)
        return out.getvalue()[start:]

    menu = await say("/menu")
    await say(number(menu, "Đề xuất mô hình Dân vận khéo"))
    areas = await say("Tổ tự quản đường làng kiểu mẫu")
    units = await say(number(areas, "Kinh tế"))
    await say(number(units, "Chi bộ A1"))
    await say("Chi bộ A1 và Hội Nông dân xã")
    await say("Mỗi đảng viên phụ trách 5 hộ dân, họp dân mỗi tháng một lần, ghi sổ theo dõi.")
    asked = await say("Thu nhập bình quân tăng 12%, 30 hộ thoát nghèo trong năm 2025.")
    assert "đã có 0/5 ảnh" in asked
    assert "đã có 1/5 ảnh" in await say(str(picture))


def test_an_announcement_attachment_is_saved_with_its_path(tmp_path: Path) -> None:
    import asyncio

    from bot.channels.console import ConsoleSender
    source = tmp_path / "lich-hop.pdf"
    source.write_bytes(b"%PDF-1.4 lich hop")
    out = io.StringIO()
    sender = ConsoleSender(out, files=tmp_path / "data" / "console-files")
    asyncio.run(sender.deliver("me", Reply("Lịch họp",
                                           document=Attachment(source, "lich-hop.pdf"))))
    saved = re.search(r"Đã lưu tại: (.+)\)", out.getvalue())
    assert saved is not None and Path(saved.group(1)).read_bytes() == b"%PDF-1.4 lich hop"
