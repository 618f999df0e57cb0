"""How announcements are cut into messages that fit Telegram, with the cadre's text escaped."""

from __future__ import annotations

import pytest

from bot.broadcasts.announcement import (
    CAPTION_LIMIT,
    MAX_PARTS,
    TEXT_LIMIT,
    Frame,
    TooLong,
    Upload,
    length,
    render,
)
from bot.engine.messages import Button
from bot.formatting import to_plain
from tests.test_formatting import WELL_FORMED, balanced

FRAME = Frame("Chi bộ A1", "Phạm Văn Đức", ack=Button("✓ Đã nhận", "bc.ok|1"))


def test_short_text_is_one_escaped_message_with_the_button() -> None:
    [message] = render("Họp <b>chi bộ</b> & đoàn", None, FRAME, split=False)
    assert message.text.startswith("<b>THÔNG BÁO</b> — Chi bộ A1\n\n")
    assert "Họp &lt;b&gt;chi bộ&lt;/b&gt; &amp; đoàn" in message.text
    assert "Người gửi: đồng chí Phạm Văn Đức" in message.text
    assert "bấm «Đã nhận»" in message.text
    assert [b.label for row in message.buttons for b in row] == ["✓ Đã nhận"]


def test_long_text_needs_the_cadres_consent_then_splits_into_fitting_parts() -> None:
    text = "Câu văn thử nghiệm có dấu tiếng Việt & ký hiệu. " * 200  # ~9,600 characters
    with pytest.raises(TooLong) as refused:
        render(text, None, FRAME, split=False)
    assert refused.value.parts == 3 and refused.value.limit == TEXT_LIMIT
    parts = render(text, None, FRAME, split=True)
    assert len(parts) == 3
    assert all(length(p.text) <= TEXT_LIMIT for p in parts)
    assert "phần 2/3" in parts[1].text and "phần 3/3" in parts[2].text
    assert [bool(p.buttons) for p in parts] == [False, False, True]
    assert "Người gửi" in parts[2].text and "Người gửi" not in parts[0].text


def test_escaping_is_counted_so_no_part_overflows() -> None:
    parts = render("&" * 3000, None, FRAME, split=True)  # every & becomes &amp;
    assert all(length(p.text) <= TEXT_LIMIT for p in parts)
    assert len(parts) == 4 and sum(p.text.count("&amp;") for p in parts) == 3000


def test_escaped_text_is_cut_on_its_own_length_never_inside_an_entity() -> None:
    # A run of "&" longer than a message (5 characters each once escaped: the cut falls in
    # it, between two "&amp;"), «<b>» typed by the cadre, then prose: 10.264 characters once
    # escaped make three messages (cutting the unescaped text asked for six, and refused).
    text = ("&" * 900 + " Họp <b>chi bộ</b> & đoàn thanh niên, " + "chữ " * 500
            + "Q&A <b>đậm</b> & " * 100 + " kết thúc.")
    parts = render(text, None, FRAME, split=True)
    assert len(parts) == 3
    bodies = []
    for part in parts:
        assert length(part.text) <= TEXT_LIMIT
        assert WELL_FORMED.fullmatch(part.text), part.text
        assert balanced(part.text)
        bodies.append(part.text.split("\n\n")[1])  # between the header and the footer
    assert parts[0].text.split("\n\n")[1].endswith("&amp;")  # cut between two entities
    assert to_plain(" ".join(bodies)).replace("& ", "&").split() \
        == text.replace("& ", "&").split()  # nothing lost or doubled
    assert "Họp &lt;b&gt;chi bộ&lt;/b&gt; &amp; đoàn" in parts[1].text


def test_photo_with_a_short_caption_is_one_message() -> None:
    [message] = render("Ảnh hội nghị", Upload("photo", "AgAC-1"), FRAME, split=False)
    assert message.photo is not None and message.photo.file_id == "AgAC-1"
    assert "Ảnh hội nghị" in message.photo.caption and message.text == ""
    assert message.buttons


def test_caption_over_the_limit_becomes_file_then_text() -> None:
    text = "Chú thích dài. " * 100
    with pytest.raises(TooLong) as refused:
        render(text, Upload("document", "BQAC-2", "kehoach.pdf"), FRAME, split=False)
    assert refused.value.limit == CAPTION_LIMIT and refused.value.parts == 2
    document, rest = render(text, Upload("document", "BQAC-2", "kehoach.pdf"), FRAME,
                            split=True)
    assert document.document is not None and document.document.filename == "kehoach.pdf"
    assert "THÔNG BÁO" in document.document.caption and not document.buttons
    assert "Chú thích dài." in rest.text and rest.buttons


def test_far_too_long_is_refused_even_when_splitting() -> None:
    with pytest.raises(TooLong) as refused:
        render("x " * 12_000, None, FRAME, split=True)
    assert refused.value.parts > MAX_PARTS


def test_reminder_header() -> None:
    reminder = Frame("Chi bộ A1", "Đức", reminder=True)
    [message] = render("Nộp đảng phí", None, reminder, split=False)
    assert message.text.startswith("<b>NHẮC LẠI THÔNG BÁO</b>")
    assert not message.buttons
