"""A survey's results as the cadre sees them: gathered once, rendered as text, chart or files."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.formatting import esc, vn_datetime, vn_number
from bot.org.tree import OrgTree
from bot.surveys.models import Kind, Survey
from bot.surveys.results import (
    Cell,
    Row,
    breakdown,
    distribution,
    headline,
    mean_score,
    min_group,
    percent,
    recorded_cells,
    rollup,
    visible_children,
)
from bot.surveys.rows import Kids, Plan, Rows
from bot.surveys.store import SurveyStore, TextAnswer

CHAT_ROWS = 40  # breakdown rows beyond which the chat shows only the first level
SAMPLE = 5  # free texts quoted per question in the chat; the export has them all


@dataclass(frozen=True)
class Report:
    """Everything the renderers need, already suppressed for k: `cells` holds the survey's
    unit and the shown units only, and the survey's unit without its answer counts when it
    has fewer than k answers. Text, chart, CSV and XLSX all draw from this one value, so no
    output can show what another one hides. What the chat does not show is not read (the
    exports read it all): `trimmed`, a second level of the breakdown exists but is not in
    `rows`; `partial`, shown units past the chat's first CHAT_ROWS rows have their audience
    and answers only (enough for the chart's response rates)."""

    survey: Survey
    tree: OrgTree
    k: int
    cells: dict[str, Cell]
    rows: list[Row]
    texts: dict[int, list[TextAnswer]] = field(default_factory=dict)
    text_counts: dict[int, int] = field(default_factory=dict)
    trimmed: bool = False
    partial: bool = False

    @property
    def total(self) -> Cell:
        """The survey unit's own (whole-audience) counters."""
        return self.cells.get(self.survey.unit, Cell())

    @property
    def enough(self) -> bool:
        """At least k answers overall: below that nothing but the count is shown."""
        return self.total.answers >= self.k


async def gather(store: SurveyStore, survey: Survey, tree: OrgTree, *,
                 all_texts: bool = False, all_rows: bool | None = None) -> Report:
    """Read counters (and a sample of free texts, or all of them) and apply suppression.
    `all_rows` (by default with `all_texts`, as the exports want): every breakdown row, even
    where the chat shows only the first level."""
    k = min_group(survey, store.min_group)
    report = await rolled(store.rows, survey, tree, k, all_texts if all_rows is None
                          else all_rows)
    if report is None:  # opened before the rows existed: every recording unit's counters
        report = suppressed(survey, tree, k, await store.tally(survey.id))
    if not report.enough:
        return report
    for index, question in enumerate(survey.questions):
        if question.kind is Kind.TEXT:
            report.texts[index] = await store.texts(survey.id, index,
                                                    None if all_texts else SAMPLE)
            report.text_counts[index] = await store.text_count(survey.id, index)
    return report


def suppressed(survey: Survey, tree: OrgTree, k: int, tally: dict[str, int]) -> Report:
    """The one suppressed result every output is drawn from (see `Report`), from every
    recording unit's counters."""
    cells = rollup(tree, survey.unit, recorded_cells(tally))
    return _report(survey, tree, k, cells, breakdown(tree, survey.unit, cells, k))


async def rolled(source: Rows, survey: Survey, tree: OrgTree, k: int, all_rows: bool
                 ) -> Report | None:
    """The same result from the rolled-up rows: the survey unit's row, its children's, and
    their children's only where shown and wanted; None for a survey without rows."""
    root = survey.unit
    if not all_rows:
        exists, top, listed, sizes = await source.top(survey.id, root)
        if not exists:
            return None
        if sizes is not None:
            return await _chat_view(source, survey, tree, k, top, listed, sizes)
    exists, cells, kids = await source.read(survey.id, [root])
    if not exists:
        return None
    view: dict[str, tuple[str, ...]] = {}
    trimmed = partial = False
    children = _named(tree, kids[root]) if cells[root].answers >= k else []
    if children:
        # Sizes of every child (suppression weighs all siblings), whole rows where shown.
        _, found, below = await source.read(survey.id, children, whole=all_rows)
        cells.update(found)
        children = [c for c in children if cells[c].audience > 0]
        view[root] = tuple(children)
        shown = visible_children(root, children, cells, k)
        deeper = {c: tuple(_named(tree, below[c])) for c in children if c in shown}
        if all_rows or len(children) + sum(map(len, deeper.values())) <= CHAT_ROWS:
            view.update(deeper)
            whole = [u for c, units in deeper.items() for u in (c, *units)]
        else:  # the chat shows one level, at most CHAT_ROWS rows of it
            trimmed, partial = any(deeper.values()), len(children) > CHAT_ROWS
            whole = [c for c in children[:CHAT_ROWS] if c in shown]
        if all_rows:  # the first level was read whole already
            whole = [u for u in whole if u not in found]
        cells.update((await source.read(survey.id, whole))[1] if whole else {})
    rows = breakdown(OrgTree(tree.units, view), root, cells, k)
    return replace(_report(survey, tree, k, cells, rows, trimmed), partial=partial)


async def _chat_view(source: Rows, survey: Survey, tree: OrgTree, k: int, top: Cell,
                     listed: list[str], kids: Kids) -> Report:
    """What `rolled` gives the chat, with every child's audience and answers taken from the
    survey unit's children hash (one read weighs all siblings, and is weighed once per
    version of the hash), whole rows only of the at most CHAT_ROWS shown units and, when
    two levels fit, of their children."""
    root = survey.unit
    if top.answers < k or not listed:
        return _report(survey, tree, k, {root: top}, [])
    plan = _plan(tree, root, k, top, listed, kids)
    children, shown, first = plan.children, plan.shown, plan.first
    if len(children) > CHAT_ROWS:  # the chat shows one level, at most CHAT_ROWS rows of it
        whole = [c for c in children[:CHAT_ROWS] if c in shown]
        found = (await source.read(survey.id, whole))[1] if whole else {}
        return Report(survey, tree, k, {**plan.sizes, **found, root: top}, plan.level,
                      trimmed=bool(kids.deep & shown), partial=True)
    cells = {root: top, **{c: kids.sizes[c] for c in children}}
    below: dict[str, list[str]] = {}
    if first:
        _, found, below = await source.read(survey.id, first)
        cells.update(found)
    deeper = {c: tuple(_named(tree, below[c])) for c in first}
    view: dict[str, tuple[str, ...]] = {root: tuple(children)}
    trimmed = False
    if len(children) + sum(map(len, deeper.values())) <= CHAT_ROWS:
        view.update(deeper)
        whole = [u for units in deeper.values() for u in units]
        cells.update((await source.read(survey.id, whole))[1] if whole else {})
    else:
        trimmed = any(deeper.values())
    rows = breakdown(OrgTree(tree.units, view), root, cells, k)
    return _report(survey, tree, k, cells, rows, trimmed)


def _plan(tree: OrgTree, root: str, k: int, top: Cell, listed: list[str], kids: Kids) -> Plan:
    """The first level, weighed once per version of the children hash (and of the tree)."""
    kept = kids.plans.get((top.answers, k))
    if kept is None or kept.tree is not tree:
        children = [c for c in _named(tree, listed)
                    if c in kids.sizes and kids.sizes[c].audience > 0]
        shown = visible_children(root, children, {**kids.sizes, root: top}, k)
        first = [c for c in children if c in shown]
        kept = kids.plans[(top.answers, k)] = Plan(
            tree, children, shown, first, [Row(c, 1, c in shown) for c in children],
            {c: kids.sizes[c] for c in first})
    return kept


def _named(tree: OrgTree, units: list[str]) -> list[str]:
    """The snapshot's units still in the tree, in the snapshot's (the tree's) order: a unit
    deleted since has no name to show, and its answers stay in its parent's figures."""
    return [u for u in units if u in tree.units]


def _report(survey: Survey, tree: OrgTree, k: int, cells: dict[str, Cell], rows: list[Row],
            trimmed: bool = False) -> Report:
    root = cells.get(survey.unit, Cell())
    visible = {r.unit: cells[r.unit] for r in rows if r.shown}
    if root.answers < k:  # only how many answered, nothing of what
        root = Cell(audience=root.audience, answers=root.answers)
    return Report(survey, tree, k, {**visible, survey.unit: root}, rows, trimmed=trimmed)


def render(report: Report, now: datetime) -> str:
    """The results as chat text (Telegram HTML subset; user text escaped)."""
    s, total = report.survey, report.total
    state = (f"hẹn mở lúc {vn_datetime(s.opens_at)}" if s.pending
             else f"đang mở đến {vn_datetime(s.closes_at)}" if s.is_open(now)
             else f"đã đóng lúc {vn_datetime(s.closes_at)}")
    lines = [f"<b>Kết quả khảo sát: {esc(s.title)}</b>",
             f"Đơn vị: {esc(report.tree.path(s.unit))}",
             f"{'Ẩn danh' if s.anonymous else 'Ghi tên'} · {state}",
             f"Đã trả lời: <b>{vn_number(total.answers)}/{vn_number(s.audience)}</b> đồng chí "
             f"({percent(total.answers, s.audience)}%)"]
    if not report.enough and not s.anonymous:
        lines.append("\nChưa có phản hồi nào.")  # privacy wording has no place on a named survey
        return "\n".join(lines)
    if not report.enough:
        lines.append(f"\nChưa đủ {report.k} phản hồi nên chưa hiển thị kết quả, để bảo đảm "
                     "không ai bị nhận ra qua câu trả lời.")
        return "\n".join(lines)
    for index, question in enumerate(s.questions):
        lines += ["", f"<b>Câu {index + 1}. {esc(question.text)}</b>"]
        lines += _question_lines(report, index)
    lines += _breakdown_lines(report)
    return "\n".join(lines)


def _question_lines(report: Report, index: int) -> list[str]:
    question, total = report.survey.questions[index], report.total
    if question.kind is Kind.TEXT:
        count = report.text_counts.get(index, 0)
        out = [f"{count} ý kiến" + (" (trích một số):" if count > SAMPLE else ":")]
        out += [f"• {esc(t.text)}" for t in report.texts.get(index, [])]
        return out
    out = [f"{esc(label)}: {count} ({share}%)"
           for label, count, share in distribution(question, index, total)]
    if question.kind is Kind.SCALE:
        mean = mean_score(index, total)
        if mean is not None:
            out.append(f"Điểm trung bình: {mean:.2f}".replace(".", ","))
    if question.kind is Kind.MULTI:
        out.append("(tỷ lệ trên số người trả lời; mỗi người chọn được nhiều phương án)")
    return out


def _breakdown_lines(report: Report) -> list[str]:
    if not report.rows:
        return []
    out = ["", "<b>Theo đơn vị</b>"]
    deeper = any(row.depth > 1 for row in report.rows)
    one_level = report.trimmed or (len(report.rows) > CHAT_ROWS and deeper)
    if one_level:
        out.append("(cấp dưới nữa xem trong tệp xuất CSV/Excel)")
    if report.k > 1:
        out.append(f"(đơn vị dưới {report.k} phản hồi không hiển thị riêng mà gộp vào cấp trên)")
    # A Khối has hundreds of chi bộ: the chat keeps one level, and a page of it.
    listed = [row for row in report.rows if not one_level or row.depth == 1]
    for row in listed[:CHAT_ROWS]:
        name = esc(report.tree.units[row.unit].name)
        indent = "  " * (row.depth - 1)
        if not row.shown:
            out.append(f"{indent}• {name}: — (gộp vào cấp trên)")
            continue
        cell = report.cells[row.unit]
        figures = " · ".join(f"C{i + 1}: {esc(headline(q, i, cell))}"
                             for i, q in enumerate(report.survey.questions))
        out.append(f"{indent}• {name}: {vn_number(cell.answers)}/{vn_number(cell.audience)} "
                   f"({percent(cell.answers, cell.audience)}%) — {figures}")
    if len(listed) > CHAT_ROWS:
        out.append(f"… và {vn_number(len(listed) - CHAT_ROWS)} đơn vị khác: xem đầy đủ trong "
                   "tệp xuất CSV/Excel")
    return out
