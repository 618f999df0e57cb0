"""Số hiệu parsing: number, kind and issuing level; loose spellings; clear errors."""

from __future__ import annotations

import pytest

from bot.library.sohieu import BadSoHieu, loose_forms, parse


@pytest.mark.parametrize(("raw", "text", "kinds", "level", "doc_id"), [
    ("25-NQ/TW", "25-NQ/TW", ("Nghị quyết",), "Trung ương", "25-nq-tw"),
    ("43-kl/tw", "43-KL/TW", ("Kết luận",), "Trung ương", "43-kl-tw"),
    ("23-QĐ/TW", "23-QĐ/TW", ("Quyết định", "Quy định"), "Trung ương", "23-qd-tw"),
    ("144-QD/TW", "144-QĐ/TW", ("Quyết định", "Quy định"), "Trung ương", "144-qd-tw"),
    ("5-CT/TW", "05-CT/TW", ("Chỉ thị",), "Trung ương", "05-ct-tw"),
    ("12-CT/TU", "12-CT/TU", ("Chỉ thị",), "Tỉnh ủy, Thành ủy", "12-ct-tu"),
    ("7-NQ/DU", "07-NQ/ĐU", ("Nghị quyết",), "Đảng ủy", "07-nq-du"),
    ("3-KH/ĐUK", "03-KH/ĐUK", ("Kế hoạch",), "Đảng ủy Khối", "03-kh-duk"),
    ("159-HD/BTGTW", "159-HD/BTGTW", ("Hướng dẫn",), "Trung ương", "159-hd-btgtw"),
    ("10/2022/QH15", "10/2022/QH15", ("Luật",), "Quốc hội", "10-2022-qh15"),
    ("34/2007/PL-UBTVQH11", "34/2007/PL-UBTVQH11", ("Pháp lệnh",),
     "Ủy ban Thường vụ Quốc hội", "34-2007-pl-ubtvqh11"),
    # Party forms the starter library needs.
    ("11-QĐi/TW", "11-QĐi/TW", ("Quy định",), "Trung ương", "11-qdi-tw"),
    ("11-qdi/tw", "11-QĐi/TW", ("Quy định",), "Trung ương", "11-qdi-tw"),
    ("33-HD/BTCTW", "33-HD/BTCTW", ("Hướng dẫn",), "Trung ương", "33-hd-btctw"),
    ("293-CV/TW", "293-CV/TW", ("Công văn",), "Trung ương", "293-cv-tw"),
    # State forms: with and without the year, codes of the State's own list.
    ("16/CT-TTg", "16/CT-TTg", ("Chỉ thị",), "Thủ tướng Chính phủ", "16-ct-ttg"),
    ("16/ct-ttg", "16/CT-TTg", ("Chỉ thị",), "Thủ tướng Chính phủ", "16-ct-ttg"),
    ("125/QĐ-TTg", "125/QĐ-TTg", ("Quyết định",), "Thủ tướng Chính phủ", "125-qd-ttg"),
    ("59/2023/NĐ-CP", "59/2023/NĐ-CP", ("Nghị định",), "Chính phủ", "59-2023-nd-cp"),
    ("59/2023/ND-CP", "59/2023/NĐ-CP", ("Nghị định",), "Chính phủ", "59-2023-nd-cp"),
    ("1/2021/TT-BNV", "01/2021/TT-BNV", ("Thông tư",), "Bộ", "01-2021-tt-bnv"),
    ("04/2015/TTLT-BNV", "04/2015/TTLT-BNV", ("Thông tư liên tịch",), "Bộ",
     "04-2015-ttlt-bnv"),
    ("55/1998/NQ-UBTVQH10", "55/1998/NQ-UBTVQH10", ("Nghị quyết",),
     "Ủy ban Thường vụ Quốc hội", "55-1998-nq-ubtvqh10"),
    ("12/KH-UBND", "12/KH-UBND", ("Kế hoạch",), "Ủy ban nhân dân", "12-kh-ubnd"),
])
def test_parse(raw: str, text: str, kinds: tuple[str, ...], level: str, doc_id: str) -> None:
    parsed = parse(raw)
    assert (parsed.text, parsed.kinds, parsed.level, parsed.doc_id) == (text, kinds, level,
                                                                          doc_id)


def test_number_and_codes_are_kept_apart() -> None:
    parsed = parse(" 144 - qđ / tw ")
    assert (parsed.number, parsed.code, parsed.issuer) == (144, "QĐ", "TW")


def test_ambiguous_qd_is_decided_by_the_title() -> None:
    parsed = parse("144-QĐ/TW")
    assert parsed.kind_for("Quy định chuẩn mực đạo đức") == "Quy định"
    assert parsed.kind_for("Ban hành Quy chế công tác dân vận") == "Quyết định"


@pytest.mark.parametrize(("raw", "words"), [
    ("25/NQ-TW", "không đúng dạng"),
    ("NQ-25/TW", "không đúng dạng"),
    ("25-XY/TW", "loại văn bản 'XY'"),
    ("25-NQ/ABC", "cơ quan ban hành 'ABC'"),
    ("0-NQ/TW", "lớn hơn 0"),
    ("10/2022/ZZ", "cơ quan ban hành 'ZZ'"),
    ("10/2022/NĐ", "cơ quan ban hành 'NĐ'"),
    ("16/TTg", "thiếu ký hiệu loại văn bản"),
    ("10/QH15", "luật cần có năm"),
    ("16/XY-TTg", "loại văn bản 'XY'"),
    ("11-QĐx/TW", "loại văn bản 'QĐx'"),
    ("", "không đúng dạng"),
])
def test_malformed(raw: str, words: str) -> None:
    with pytest.raises(BadSoHieu, match=words):
        parse(raw)


def test_tt_is_a_thong_tri_of_the_party_and_a_thong_tu_of_the_state() -> None:
    assert parse("03-TT/TW").kinds == ("Thông tri",)
    assert parse("01/2021/TT-BNV").kinds == ("Thông tư",)


def test_qd_of_the_state_is_only_a_quyet_dinh() -> None:
    assert parse("125/QĐ-TTg").kind_for("Quy định về việc gì đó") == "Quyết định"


def test_party_number_in_state_shape_names_the_party_form() -> None:
    with pytest.raises(BadSoHieu, match="25-NQ/TW"):
        parse("25/NQ-TW")


def test_loose_forms() -> None:
    assert {"25nq", "25nqtw", "nq25"} <= loose_forms(parse("25-NQ/TW"))
    assert {"5ct", "05ct"} <= loose_forms(parse("05-CT/TW"))
