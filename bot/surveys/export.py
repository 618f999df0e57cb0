"""Results as CSV (UTF-8 with BOM, so Excel shows Vietnamese correctly) and XLSX (openpyxl).

Exports carry the same suppression as the chat: counts of shown units only, free texts
attributed to the nearest shown unit, and for named surveys one row per person.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from io import BytesIO, StringIO

from openpyxl import Workbook

from bot.surveys.models import Answer, Kind, Survey
from bot.surveys.report import Report
from bot.surveys.results import distribution, percent, shown_owner

SUMMARY = ("Câu", "Câu hỏi", "Đơn vị", "Phương án", "Số phản hồi", "Tỷ lệ (%)")
RATES = ("Đơn vị", "Số đảng viên", "Đã trả lời", "Tỷ lệ (%)")
TEXTS = ("Câu", "Câu hỏi", "Đơn vị", "Ý kiến")
PEOPLE = ("Họ tên", "Đơn vị")


def summary_rows(report: Report) -> Iterator[tuple[object, ...]]:
    """Counts per question and option, for the whole audience then each shown unit."""
    if not report.enough:
        return
    units = [report.survey.unit] + [r.unit for r in report.rows if r.shown]
    for index, question in enumerate(report.survey.questions):
        if question.kind is Kind.TEXT:
            continue
        for unit in units:
            name = report.tree.units[unit].name
            for label, count, share in distribution(question, index, report.cells[unit]):
                yield (index + 1, question.text, name, label, count, share)


def rate_rows(report: Report) -> Iterator[tuple[object, ...]]:
    """Response rate of the whole audience and of every shown unit."""
    units = [report.survey.unit] + [r.unit for r in report.rows if r.shown]
    for unit in units:
        cell = report.cells.get(unit)
        if cell is not None:
            yield (report.tree.units[unit].name, cell.audience, cell.answers,
                   percent(cell.answers, cell.audience))


def text_rows(report: Report) -> Iterator[tuple[object, ...]]:
    """Every free text, under the nearest shown unit (never a suppressed small one)."""
    for index, texts in sorted(report.texts.items()):
        question = report.survey.questions[index].text
        for t in texts:
            owner = shown_owner(report.tree, report.survey.unit, t.unit, report.rows)
            yield (index + 1, question, report.tree.units[owner].name, t.text)


def people_rows(survey: Survey, people: list[tuple[str, str, list[Answer]]]
                ) -> Iterator[tuple[object, ...]]:
    """Named surveys: one row per person with their answers in words."""
    for name, unit, answers in people:
        yield (name, unit, *(_words(survey, i, a) for i, a in enumerate(answers)))


def _words(survey: Survey, index: int, answer: Answer | None) -> str:
    if answer is None:
        return ""  # skipped by the template's skip logic
    choices = survey.questions[index].choices()
    if isinstance(answer, list):
        return "; ".join(choices[i] for i in answer)
    return choices[answer] if isinstance(answer, int) else answer


def sheets(report: Report, people: list[tuple[str, str, list[Answer]]]
           ) -> list[tuple[str, tuple[str, ...], list[tuple[object, ...]]]]:
    """(sheet title, header, rows) of everything exported."""
    if report.partial or report.trimmed:
        raise ValueError("the exports need every row: gather(..., all_rows=True)")
    out = [("Tổng hợp", SUMMARY, list(summary_rows(report))),
           ("Tỷ lệ trả lời", RATES, list(rate_rows(report))),
           ("Ý kiến", TEXTS, list(text_rows(report)))]
    if not report.survey.anonymous:
        header = PEOPLE + tuple(f"Câu {i + 1}" for i in range(len(report.survey.questions)))
        out.append(("Theo người", header, list(people_rows(report.survey, people))))
    return out


def to_csv(report: Report, people: list[tuple[str, str, list[Answer]]]) -> bytes:
    """All sheets one after another in one CSV, separated by a title line."""
    buffer = StringIO()
    writer = csv.writer(buffer)
    for title, header, rows in sheets(report, people):
        writer.writerow([f"# {title}"])
        writer.writerow(header)
        writer.writerows(_safe(row) for row in rows)
        writer.writerow([])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(report: Report, people: list[tuple[str, str, list[Answer]]]) -> bytes:
    """One worksheet per part."""
    book = Workbook()
    for blank in list(book.worksheets):  # a new workbook starts with one empty sheet
        book.remove(blank)
    for title, header, rows in sheets(report, people):
        sheet = book.create_sheet(title)
        sheet.append(list(header))
        for row in rows:
            sheet.append(_safe(row))
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _safe(row: tuple[object, ...]) -> list[object]:
    """Defuse spreadsheet formulas in user text ("=HYPERLINK(...)" typed as an answer)."""
    return [f"'{v}" if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in row]
