"""`dvbot content check` and `dvbot content import` through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.cli import main
from tests.library.helpers import CONTENT, directive, material, write


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, valkey_url: str, tmp_path: Path, redis: Redis) -> Path:
    """A clean store, the test organization's units, no .env (runs in tmp_path)."""
    for name in ("DVBOT_TELEGRAM_TOKEN", "DVBOT_WEBHOOK_URL", "DVBOT_CONTENT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DVBOT_REDIS_URL", valkey_url)
    monkeypatch.setenv("DVBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    units = write(tmp_path, "units.yaml", """
units:
  - {id: khoi, name: Đảng bộ Khối Thử nghiệm, kind: dang_bo_khoi}
  - {id: cb-1, name: Chi bộ Một, kind: chi_bo, parent: khoi}
""")
    assert main(["units", "import", str(units)]) == 0
    return tmp_path


def test_check_the_shipped_library(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["content", "check"]) == 0  # the default folder is the checkout's content/
    out = capsys.readouterr().out
    assert f"{CONTENT}: hợp lệ — 10 văn bản chỉ đạo, 7 tài liệu học tập." in out
    assert f"{CONTENT / 'surveys'}: hợp lệ — 3 mẫu khảo sát." in out


def test_check_validates_survey_templates(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(env, "lib/directives/a.md", directive())
    write(env, "lib/surveys/tot.yaml", """
title: Mẫu hợp lệ
questions:
  - text: Đồng chí hài lòng không?
    kind: scale
""")
    write(env, "lib/surveys/hong.yaml", """
title: Mẫu hỏng
questions:
  - text: Chọn nhiều?
    kind: multi
    options: [A, B]
    max_choices: 3
""")
    write(env, "lib/surveys/Sai Ten.yaml", "title: x\n")
    assert main(["content", "check", "--dir", str(env / "lib")]) == 1
    err = capsys.readouterr().err
    assert "nội dung có 2 lỗi" in err
    assert "  - surveys/hong.yaml: questions.0: max_choices" in err
    assert "  - surveys/Sai Ten.yaml: tên tệp chỉ gồm" in err
    (env / "lib/surveys/hong.yaml").unlink()
    (env / "lib/surveys/Sai Ten.yaml").unlink()
    assert main(["content", "check", "--dir", str(env / "lib")]) == 0
    assert "surveys: hợp lệ — 1 mẫu khảo sát." in capsys.readouterr().out


def test_check_lists_every_problem_and_fails(env: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    write(env, "lib/directives/a.md", directive("25/NQ-TW"))
    write(env, "lib/directives/b.md", directive(issued="2024-13-01"))
    write(env, "lib/materials/bai-hoc.md", material(extra="colour: red"))
    assert main(["content", "check", "--dir", str(env / "lib")]) == 1
    err = capsys.readouterr().err
    assert "nội dung có 3 lỗi" in err
    assert "  - directives/a.md: so_hieu: số hiệu '25/NQ-TW' không đúng dạng" in err
    assert "  - directives/b.md: issued: ngày không hợp lệ" in err
    assert "  - materials/bai-hoc.md: colour: trường này không có" in err


def test_import_twice_and_refuse_a_broken_library(env: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["content", "import"]) == 0
    assert "17 mới, 0 cập nhật, 0 không đổi" in capsys.readouterr().out
    assert main(["content", "import"]) == 0
    assert "0 mới, 0 cập nhật, 17 không đổi" in capsys.readouterr().out

    write(env, "lib/directives/a.md", directive(extra="audience: cb-9"))
    assert main(["content", "import", "--dir", str(env / "lib")]) == 1
    err = capsys.readouterr().err
    assert "directives/a.md: audience: không có đơn vị 'cb-9'" in err and "chưa nạp gì" in err
