"""The "Dân vận khéo" year through the real dispatcher: fields from the content file,
registration (by typed numbers) with who has and has not registered, the prefilled proposal,
criteria and the recognition decision at review (history, export), nhân rộng in the gallery,
and the annual report (/baocao text, chart, XLSX; `dvbot proposals report`)."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook

from bot.cli.proposals import last_criteria
from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Role
from bot.proposals.annual import every_proposal, gather, to_xlsx
from bot.proposals.export import rows_of
from bot.proposals.models import Content, State
from bot.proposals.year import DEFAULT, load_config
from handlers import build_router
from tests.conftest import make_member
from tests.handlers.chat import Chat
from tests.handlers.test_proposals import (
    METHOD,
    RESULTS,
    decide,
    deliver,
    photo,
    png,
    setup,
    submit,
)
from tests.library.helpers import CONTENT, write


async def type_number(chat: Chat, label: str) -> None:
    """Answer by the number of the option whose label contains `label` (console, Zalo)."""
    await chat.say(str(next(i for i, x in enumerate(chat.labels()) if label in x) + 1))


def test_fields_and_criteria_come_from_the_content_file(tmp_path: Path) -> None:
    shipped, problems = load_config(CONTENT)
    assert problems == []
    assert [f.name for f in shipped.fields] == ["Kinh tế", "Văn hóa – xã hội",
                                                 "Quốc phòng – an ninh",
                                                 "Xây dựng hệ thống chính trị"]
    assert "Có khả năng nhân rộng" in [c.name for c in shipped.criteria]
    assert load_config(tmp_path) == (DEFAULT, [])  # no file: the four usual fields
    write(tmp_path, "dan-van-kheo.yaml", "fields:\n  - {id: a_b, name: Một}\n"
                                         "  - {id: a_b, name: Hai}\ncriteria: []\n")
    assert load_config(tmp_path)[1] == ["dan-van-kheo.yaml: fields: mã 'a_b' bị lặp"]
    write(tmp_path, "dan-van-kheo.yaml", "fields: []\n")
    assert load_config(tmp_path)[1][0].startswith("dan-van-kheo.yaml: fields:")


async def test_old_fields_keep_their_label(deps: Deps) -> None:
    author = await make_member(deps, user_id="a", unit="cb-a1")
    old = Content(name="Mô hình cũ lĩnh vực dân vận chính quyền", area="dan_van_chinh_quyen",
                  unit="cb-a1", executor="Chi bộ A1", method=METHOD, results=RESULTS)
    p = await deps.proposals.submit(author, old, await deps.units.tree(), deps.clock())
    stored = await deps.proposals.store.get(p.code)
    assert stored is not None and stored.area == "dan_van_chinh_quyen"
    assert rows_of([stored], await deps.units.tree())[0][2] == "Dân vận chính quyền"


async def register_by_numbers(cadre: Chat, unit: str, name: str) -> None:
    """A whole registration typed as numbers and text."""
    await cadre.say("/dangky")
    await type_number(cadre, "Đăng ký mô hình mới")
    await type_number(cadre, unit)
    await type_number(cadre, "Mô hình")
    await cadre.say(name)
    await type_number(cadre, "Văn hóa – xã hội")
    await cadre.say("Giải quyết dứt điểm phản ánh của người dân trong 5 ngày làm việc")
    await cadre.say("Chi bộ và Đoàn thanh niên")
    await cadre.say("Tháng 3 – tháng 11")
    assert "Xem lại đăng ký" in cadre.text and "Văn hóa – xã hội" in cadre.text
    await type_number(cadre, "Lưu đăng ký")
    assert "Đã lưu đăng ký" in cadre.text


async def test_registration_by_typed_numbers_and_the_prefilled_proposal(deps: Deps) -> None:
    await make_member(deps, channel="console", user_id="c", unit="dbcs-a",
                      name="Cán bộ A", grants=((Role.CADRE, "dbcs-a"),))
    cadre = Chat(Dispatcher(build_router(), deps), "c", channel="console", buttons=False)
    await cadre.say("/dangky")
    assert "Đã đăng ký: <b>0/2</b>" in cadre.replies[0].text
    await register_by_numbers(cadre, "Chi bộ A1", "Một cửa thân thiện")
    await cadre.say("/dangky")
    text = cadre.text
    assert "Đã đăng ký: 1/2 đơn vị" in text
    assert "✓ Chi bộ A1: 1 đăng ký" in text and "• Chi bộ A2: chưa đăng ký" in text

    # A member of Chi bộ A1 turns the registration into the proposal, prefilled.
    await make_member(deps, channel="console", user_id="m", unit="cb-a1", name="Đảng viên")
    member = Chat(Dispatcher(build_router(), deps), "m", channel="console", buttons=False)
    reg = (await deps.dvk.registrations(deps.clock().year))[0]
    await member.press_raw(f"reg.v|{reg.year}|{reg.id}")
    await type_number(member, "Đề xuất công nhận")
    assert "Bước 5/7" in member.text  # name, field, unit, executor came from the registration
    await member.say(METHOD)
    await member.say(RESULTS)
    await member.say("xong")
    assert "Một cửa thân thiện" in member.text and "Văn hóa – xã hội" in member.text
    await type_number(member, "Gửi đề xuất")
    sent = await deps.proposals.store.get("DVK-2026-00001")
    assert sent is not None and sent.registration == reg.id and sent.area == "van_hoa_xa_hoi"

    # A member cannot register, nor open the cadre's overview of another unit.
    await member.say("/dangky")
    assert "được phân công phụ trách" in member.text
    await cadre.press_raw("reg.o|dbcs-b")
    assert "không có quyền" in cadre.text


async def test_criteria_and_recognition_decision(deps: Deps) -> None:
    author, rv, top = await setup(deps)
    code = await submit(author)
    await rv.press_raw("rv.next")
    await rv.press("Thẩm định đạt")
    await rv.say("Mô hình thiết thực, đề nghị cấp trên công nhận.")
    await rv.press("Bỏ qua")
    assert "Tiêu chí: chưa đánh giá" in rv.text
    assert "Nhập số, ngày quyết định" not in " ".join(rv.labels())  # not the last level
    await rv.press("Đánh giá theo tiêu chí")
    await rv.press("☐ Sáng tạo")
    await rv.press("☐ Hiệu quả")
    await rv.press("☑ Hiệu quả")  # untick
    await rv.press("☐ Bền vững")
    await rv.press("Xong")
    assert "Sáng tạo: đạt" in rv.text and "Hiệu quả: chưa đạt" in rv.text
    await rv.press("Xác nhận")
    await top.press_raw("rv.next")
    await top.press("Công nhận")
    await top.say("Công nhận mô hình Dân vận khéo năm 2026.")
    await top.press("Bỏ qua")
    await top.press("Nhập số, ngày quyết định công nhận")
    await top.send(photo(top, b"not a pdf", kind="document", mime="application/pdf",
                         name="qd.pdf"))
    assert "chưa nhận được tệp PDF" in top.text
    await top.send(photo(top, png(), kind="photo"))
    assert "chỉ nhận tệp PDF" in top.text
    await top.send(photo(top, b"%PDF-1.4 quyet dinh", kind="document", mime="application/pdf",
                         name="qd-125.pdf"))
    assert "Đã nhận tệp PDF" in top.text
    await top.say("125 ngày hôm qua")
    assert "Chưa đọc được" in top.text
    await top.say("125-QĐ/ĐU ngày 31/2/2026")
    assert "không hợp lệ" in top.text
    await top.say("125-QĐ/ĐU ngày 12/12/2026")
    assert "Quyết định công nhận: số 125-QĐ/ĐU ngày 12/12/2026" in top.text
    assert "Tệp PDF quyết định: đã nhận" in top.text
    await top.press("Xác nhận")
    p = await deps.proposals.store.get(code)
    assert p is not None and p.state is State.RECOGNISED
    assert p.recognition is not None and p.recognition.number == "125-QĐ/ĐU"
    assert p.recognition.file is not None and p.recognition.file.filename == "qd-125.pdf"
    await author.press_raw(f"gal.v|{code}")
    document = next(r.document for r in author.replies if r.document is not None)
    assert document.path is not None and document.path.read_bytes().startswith(b"%PDF")
    assert "Quyết định công nhận:</b> số 125-QĐ/ĐU ngày 12/12/2026" in author.replies[-1].text
    await top.press_raw(f"rv.h|{code}")
    assert "Tiêu chí: Sáng tạo: đạt; Hiệu quả: chưa đạt" in top.text
    row = rows_of([p], await deps.units.tree(), await last_criteria(deps, [p]))[0]
    assert row[-4:-1] == ["Mô hình", "125-QĐ/ĐU", "12/12/2026"]
    assert "Bền vững: đạt" in row[-1]
    await deliver(deps)


async def recognised(deps: Deps) -> tuple[str, Chat, Chat]:
    author, rv, top = await setup(deps)
    code = await submit(author)
    await rv.press_raw("rv.next")
    await decide(rv, "Thẩm định đạt", "Mô hình thiết thực, đề nghị công nhận.")
    await top.press_raw("rv.next")
    await decide(top, "Công nhận", "Công nhận mô hình Dân vận khéo năm 2026.")
    return code, author, top


async def test_nhan_rong_counts_in_the_gallery(deps: Deps) -> None:
    code, author, _top = await recognised(deps)
    await make_member(deps, user_id="b", unit="dbcs-b", name="Cán bộ B",
                      grants=((Role.CADRE, "dbcs-b"),))
    other = Chat(Dispatcher(build_router(), deps), "b")
    await other.press_raw(f"gal.v|{code}")
    assert "Chưa có đơn vị nào đăng ký nhân rộng" in other.text
    await other.press("Đơn vị tôi nhân rộng mô hình này")
    assert "Đã ghi nhận: <b>Đảng bộ cơ sở B</b> nhân rộng" in other.replies[0].text
    await other.press_raw(f"rep|{code}")
    assert "Đơn vị đã đăng ký trước đây" in other.text  # once per unit
    await other.press("Cập nhật kết quả nhân rộng")
    await other.say("Áp dụng ở 3 phòng, giảm 40% thời gian trả lời phản ánh.")
    assert "Đã ghi nhận kết quả" in other.text
    assert (await deps.dvk.replicas(code))[0].results.startswith("Áp dụng")
    await other.press_raw(f"gal.v|{code}")
    assert "Nhân rộng: 1 đơn vị (Đảng bộ cơ sở B)" in other.text
    await other.press_raw("gal.a|all")
    assert "· 1 nhân rộng" in " ".join(other.labels())
    await author.press_raw(f"rep|{code}")  # a member without a cadre role
    assert "được phân công phụ trách" in author.text
    await other.press_raw(f"rep.u|{code}|dbcs-a")  # forged: another unit's scope
    assert "không có quyền" in other.text


async def test_annual_report_text_chart_xlsx(deps: Deps, tmp_path: Path) -> None:
    code, _author, _top = await recognised(deps)
    await make_member(deps, channel="console", user_id="k", unit="khoi", name="Cán bộ Khối",
                      grants=((Role.CADRE, "khoi"),))
    cadre = Chat(Dispatcher(build_router(), deps), "k", channel="console", buttons=False)
    await register_by_numbers(cadre, "Đảng bộ cơ sở B", "Dân vận khéo trong cải cách thủ tục")
    await make_member(deps, user_id="b", unit="dbcs-b", grants=((Role.CADRE, "dbcs-b"),))
    await Chat(Dispatcher(build_router(), deps), "b").press_raw(f"rep|{code}")
    await cadre.say("/baocao")
    text = cadre.text
    assert "Báo cáo phong trào “Dân vận khéo” năm 2026" in text
    assert "Đăng ký 1 · đã xây dựng 0 · đề xuất 1 · được công nhận 1 · được nhân rộng 1" in text
    assert "• Đảng bộ cơ sở A: 0 / 0 / 1 / 1 / 1" in text
    assert "• Đảng bộ cơ sở B: 1 / 0 / 0 / 0 / 0" in text
    assert "• Kinh tế: 0 / 0 / 1 / 1 / 1" in text
    await cadre.press("Tải Excel")
    document = cadre.replies[0].document
    assert document is not None and document.path is not None
    sheet = load_workbook(document.path)["Theo don vi"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1] == ["STT", "Đơn vị", "Đăng ký", "Đã xây dựng", "Đề xuất",
                         "Được công nhận", "Được nhân rộng"]
    assert [None, "Tổng cộng", 1, 0, 1, 1, 1] in values
    await cadre.press_raw("yr|khoi|2026")
    await cadre.press("Biểu đồ")
    photo = cadre.replies[0].photo
    assert photo is not None and photo.path is not None
    assert photo.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    await cadre.press_raw("yr|khoi|2025")
    assert "Đăng ký 0 · đã xây dựng 0 · đề xuất 0" in cadre.text
    chi_bo = Chat(Dispatcher(build_router(), deps), "b")
    await chi_bo.press_raw("yr|khoi|2026")  # another unit's scope
    assert "không có quyền" in chi_bo.text
    report = await gather(deps.dvk, await every_proposal(deps.proposals.store),
                          await deps.units.tree(), "dbcs-a", 2026)
    book = load_workbook(io.BytesIO(to_xlsx(report, await deps.units.tree())))
    assert book.sheetnames == ["Theo don vi", "Theo linh vuc"]



async def test_forged_registration_presses_change_nothing(deps: Deps) -> None:
    await make_member(deps, user_id="m", unit="cb-a1", name="Đảng viên")
    member = Chat(Dispatcher(build_router(), deps), "m")
    for payload in ("reg.n|cb-a1", "reg.u|cb-a1", "reg.ok", "reg.p|kind|mo_hinh",
                    "yr|cb-a1|2026", "yr.x|cb-a1|2026", "rep.r|DVK-2026-00001|cb-a1"):
        await member.press_raw(payload)
        assert "Đã lưu" not in member.text and member.replies[0].document is None, payload
    assert await deps.dvk.registrations(2026) == []
    await make_member(deps, user_id="c", unit="cb-a1", grants=((Role.CADRE, "cb-a1"),))
    cadre = Chat(Dispatcher(build_router(), deps), "c")
    await cadre.press_raw("reg.u|cb-a1")
    await cadre.press_raw("reg.p|area|khong_co")  # a field that is not in the content file
    assert "Lựa chọn không hợp lệ" in cadre.text
    await cadre.press_raw("reg.u|dbcs-a")  # above the cadre's scope
    assert "không có quyền" in cadre.text
    await cadre.press_raw("yr|cb-a1|1999")
    assert "Năm không hợp lệ" in cadre.text
