"""Chart (valid PNG, no missing Vietnamese glyph), CSV (UTF-8 BOM) and XLSX exports through
the cadre's buttons; free texts from a small unit are attributed to the unit above it; named
surveys list people and may allow changing an answer."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

from openpyxl import load_workbook

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Role
from bot.surveys.charts import chart_data, chart_png
from bot.surveys.export import summary_rows, text_rows, to_csv
from bot.surveys.models import Kind, Question, Spec
from bot.surveys.report import gather, render
from bot.surveys.store import REPLACED
from tests.conftest import make_member
from tests.handlers.chat import Chat

SPEC = Spec(title="Ý kiến về chuyển đổi số ở cơ sở", questions=[
    Question(text="Mức độ ứng dụng phần mềm quản lý đảng viên?", kind=Kind.SCALE),
    Question(text="Khó khăn chính?", kind=Kind.SINGLE,
             options=["Thiếu thiết bị", "Kỹ năng sử dụng", "Đường truyền yếu"]),
    Question(text="Góp ý", kind=Kind.TEXT)])


async def _survey(deps: Deps, *, anonymous: bool = True, allow_change: bool = False) -> str:
    """13 answers: cb-a1 6 (its own cell), cb-a2 2 (recorded into dbcs-a), cb-b1 5."""
    spec = SPEC.model_copy(update={"anonymous": anonymous, "allow_change": allow_change})
    members = [await make_member(deps, user_id=f"u{i}", unit=unit, name=f"Người Số {i}")
               for i, unit in enumerate(["cb-a1"] * 6 + ["cb-a2"] * 2 + ["cb-b1"] * 5)]
    survey = await deps.surveys.open(spec, unit="khoi", author_name="X",
                                     tree=await deps.units.tree(), now=deps.clock(),
                                     closes_at=deps.clock().replace(year=2027))
    for i, m in enumerate(members):
        text = "Nhỏ lẻ ở A2" if m.unit == "cb-a2" else f"=cmd {i}"
        await deps.surveys.record(survey, m.id, [i % 5, i % 3, text])
    if anonymous:  # anonymous results open at closing
        await deps.surveys.close(survey, deps.clock())
    return survey.id


async def test_chart_is_a_png_without_missing_glyphs(deps: Deps) -> None:
    sid = await _survey(deps)
    survey = await deps.surveys.get(sid)
    assert survey is not None
    report = await gather(deps.surveys, survey, await deps.units.tree())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font" would raise here
        png = chart_png(report)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


async def test_exports_through_the_buttons(deps: Deps, dispatcher: Dispatcher) -> None:
    sid = await _survey(deps)
    await make_member(deps, user_id="boss", unit="khoi", grants=((Role.CADRE, "khoi"),))
    boss = Chat(dispatcher, "boss")
    await boss.press_raw(f"sv.r|{sid}")
    assert "Đã trả lời: 13/13" in boss.text
    assert "Chi bộ A2" not in boss.text  # recorded into its đảng bộ: no cell of its own
    await boss.press("Biểu đồ")
    photo = boss.replies[0].photo
    assert photo is not None and photo.path is not None
    assert photo.path.read_bytes().startswith(b"\x89PNG")

    await boss.press("« Về kết quả")
    await boss.press("Tải CSV")
    doc = boss.replies[0].document
    assert doc is not None and doc.path is not None and doc.filename.endswith(".csv")
    raw = doc.path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    texts = [r for r in rows if len(r) == 4 and r[0] == "3"]
    a2 = [r for r in texts if r[3] == "Nhỏ lẻ ở A2"]
    # cb-a2's two (fewer than k, never counted alone) were counted under the survey's unit at
    # closing: never attributed to "Chi bộ A2" nor to its đảng bộ.
    assert len(a2) == 2 and {r[2] for r in a2} == {"Đảng bộ Khối Thử nghiệm"}
    assert all(r[2] != "Chi bộ A2" for r in rows if len(r) > 2)
    assert any(r[3] == "'=cmd 0" for r in texts)  # formulas defused
    summary = [r for r in rows if len(r) == 6 and r[2] == "Đảng bộ Khối Thử nghiệm"]
    assert ["2", "Khó khăn chính?", "Đảng bộ Khối Thử nghiệm", "Thiếu thiết bị", "5",
            "38"] in summary

    await boss.press("« Về kết quả")
    await boss.press("Tải Excel")
    xdoc = boss.replies[0].document
    assert xdoc is not None and xdoc.path is not None
    book = load_workbook(Path(xdoc.path))
    assert book.sheetnames == ["Tổng hợp", "Tỷ lệ trả lời", "Ý kiến"]
    rates = list(book["Tỷ lệ trả lời"].iter_rows(values_only=True))
    assert ("Đảng bộ Khối Thử nghiệm", 13, 13, 100) in rates


async def test_named_survey_lists_people_and_allows_a_change(deps: Deps) -> None:
    sid = await _survey(deps, anonymous=False, allow_change=True)
    survey = await deps.surveys.get(sid)
    member = await deps.members.by_account("telegram", "u0")
    assert survey is not None and member is not None
    assert await deps.surveys.record(survey, member.id, [4, 2, "Đổi ý"]) == REPLACED
    tally = await deps.surveys.tally(sid)
    assert tally["n|cb-a1"] == 6 and tally["cb-a1|0|4"] == 2 and tally["cb-a1|0|0"] == 1
    assert "Đổi ý" in [t.text for t in await deps.surveys.texts(sid, 2)]
    assert "=cmd 0" not in [t.text for t in await deps.surveys.texts(sid, 2)]
    answers = await deps.surveys.named_answers(sid)
    assert answers[member.id] == [4, 2, "Đổi ý"]


async def test_with_fewer_than_k_answers_no_output_shows_any_answer(deps: Deps) -> None:
    """Regression: with 1 answer of 10 the text said "Chưa đủ 5 phản hồi" while the chart
    drew that one person's answers as 100 % bars. Every output comes from one suppressed
    result: no counts in it, no bars, no rows in the files."""
    members = [await make_member(deps, user_id=f"u{i}", unit="cb-a1") for i in range(10)]
    survey = await deps.surveys.open(SPEC, unit="cb-a1", author_name="X",
                                     tree=await deps.units.tree(), now=deps.clock(),
                                     closes_at=deps.clock().replace(year=2027))
    await deps.surveys.record(survey, members[0].id, [4, 1, "Chỉ một người"])
    survey = await deps.surveys.close(survey, deps.clock())
    report = await gather(deps.surveys, survey, await deps.units.tree(), all_texts=True)
    assert report.total.answers == 1 and not report.total.counts and not report.texts
    assert chart_data(report) == []
    assert list(summary_rows(report)) == [] and list(text_rows(report)) == []
    png = chart_png(report)
    assert png.startswith(b"\x89PNG") and len(png) < 30_000  # a sentence, not bars
    assert "Chỉ một người" not in to_csv(report, []).decode("utf-8-sig")
    assert "Chưa đủ 5 phản hồi" in render(report, deps.clock())
