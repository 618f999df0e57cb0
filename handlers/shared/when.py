"""Reading a time a person typed, the way Vietnamese users write it, in Vietnam time."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.formatting import VIETNAM, esc, vn_datetime

_TIME = re.compile(r"(?<![\d/])(\d{1,2})\s*(?::|giờ|h|g)\s*(\d{2})?(?![\d/])", re.IGNORECASE)
_FILLER = re.compile(r"\b(?:lúc|vào|ngày|hôm nay)\b", re.IGNORECASE)
_DATE = re.compile(r"(?<![\d:])(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}))?(?![\d:])")
MAX_AHEAD = timedelta(days=90)
EXAMPLE = "<code>14:30</code> (hôm nay) hoặc <code>14:30 25/11/2026</code>"


class BadTime(ValueError):
    """The text is not a usable time; the message (Vietnamese) says why."""


def parse_when(typed: str, now: datetime) -> datetime:
    """`14:30`, `14h30`, `14:30 25/11`, `25/11/2026 14:30` -> an aware datetime after `now`."""
    time_match, date_match = _TIME.search(typed), _DATE.search(typed)
    leftover = _FILLER.sub("", _DATE.sub("", _TIME.sub("", typed))).strip(" ,;")
    if time_match is None or leftover:
        raise BadTime(f"Chưa hiểu thời điểm «{esc(typed[:40])}». Xin đồng chí nhập theo dạng "
                      f"{EXAMPLE}.")
    local_now = now.astimezone(VIETNAM)
    hour, minute = int(time_match[1]), int(time_match[2] or 0)
    day, month, year = local_now.day, local_now.month, local_now.year
    if date_match is not None:
        day, month = int(date_match[1]), int(date_match[2])
        year = int(date_match[3]) if date_match[3] else year
    try:
        moment = datetime(year, month, day, hour, minute, tzinfo=VIETNAM)
    except ValueError:
        raise BadTime(f"Ngày giờ «{esc(typed[:40])}» không hợp lệ. Xin đồng chí nhập lại, ví dụ "
                      f"{EXAMPLE}.") from None
    if moment <= now:
        # Compared to the minute people see: "23:00 đã qua (bây giờ là 23:00)" reads as a bug.
        passed = "vừa qua" if vn_datetime(moment) == vn_datetime(now) else "đã qua"
        raise BadTime(f"Thời điểm {vn_datetime(moment)} {passed}. Xin đồng chí nhập một thời "
                      f"điểm sau {vn_datetime(now)}.")
    if moment - now > MAX_AHEAD:
        raise BadTime("Chỉ hẹn giờ gửi trong vòng 90 ngày tới. Xin đồng chí nhập lại.")
    return moment
