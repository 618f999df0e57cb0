"""What surveys hand to the delivery outbox: "khảo sát mới" to the audience at opening and
"nhắc nhở" to those who have not answered. Job ids are deterministic (`sv-<id>`,
`sv-<id>.rm-<window start>`), so a retry or a double press never notifies twice."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.messages import Button, Reply
from bot.formatting import esc, vn_datetime
from bot.surveys.models import Survey

REMIND_WINDOW = 3600  # seconds during which another reminder of the same survey is a no-op


def answer_button(survey: Survey) -> Button:
    """The button that starts answering (audience and state re-checked when pressed)."""
    return Button("Trả lời khảo sát", act("sv.go", survey.id))


def opening_message(survey: Survey, unit_name: str) -> Reply:
    """"Khảo sát mới: …" with the button."""
    kind = ("Khảo sát ẩn danh: câu trả lời không gắn với tên đồng chí; kết quả chỉ hiển thị "
            "theo nhóm nhiều người." if survey.anonymous
            else "Khảo sát có ghi tên người trả lời.")
    lines = [f"<b>Khảo sát mới</b> — {esc(unit_name)}", f"<b>{esc(survey.title)}</b>"]
    if survey.intro:
        lines.append(esc(survey.intro))
    lines += [f"{len(survey.questions)} câu hỏi, hạn trả lời {vn_datetime(survey.closes_at)}.",
              kind, "Bấm «Trả lời khảo sát» bên dưới, hoặc gõ /khaosat."]
    return Reply("\n".join(lines), buttons=((answer_button(survey),),))


def reminder_message(survey: Survey) -> Reply:
    """"Đồng chí chưa trả lời …", with the button for a named survey only: on channels
    without buttons a bulk message's buttons are remembered per account as numbered options,
    which for an anonymous survey's reminder would leave a trace of who had not answered."""
    lead = (f"<b>Nhắc nhở trả lời khảo sát</b>\nĐồng chí chưa trả lời khảo sát "
            f"<b>{esc(survey.title)}</b>; hạn trả lời {vn_datetime(survey.closes_at)}. ")
    if survey.anonymous:
        return Reply(lead + "Đồng chí gõ /khaosat để trả lời.")
    return Reply(lead + "Bấm «Trả lời khảo sát» bên dưới, hoặc gõ /khaosat.",
                 buttons=((answer_button(survey),),))
