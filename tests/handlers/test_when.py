"""Times typed by people, read in Vietnam time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.shared.when import BadTime, parse_when

NOW = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội


@pytest.mark.parametrize(("typed", "expected"), [
    ("14:30", "2026-11-21 14:30"), ("14h30", "2026-11-21 14:30"), ("14h", "2026-11-21 14:00"),
    ("9 giờ 15", "2026-11-21 09:15"), ("14:30 25/11", "2026-11-25 14:30"),
    ("25/11/2026 14:30", "2026-11-25 14:30"), ("lúc 9:00 ngày 22/11/2026", "2026-11-22 09:00"),
])
def test_accepted_forms(typed: str, expected: str) -> None:
    assert parse_when(typed, NOW).strftime("%Y-%m-%d %H:%M") == expected


@pytest.mark.parametrize(("typed", "reason"), [
    ("07:00", "đã qua"), ("31/02 10:00", "không hợp lệ"), ("ngày mai", "Chưa hiểu"),
    ("1430", "Chưa hiểu"), ("14:30 25/11/2027", "90 ngày"), ("<b>14:30", "&lt;b&gt;"),
])
def test_refused_with_a_reason(typed: str, reason: str) -> None:
    with pytest.raises(BadTime) as refused:
        parse_when(typed, NOW)
    assert reason in str(refused.value)
