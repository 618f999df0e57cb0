"""The year-end report of the "Dân vận khéo" movement for one unit's subtree: models
registered, built, proposed, recognised and replicated — per child unit and per field — as chat
text, a bar chart (PNG) and an XLSX shaped like the tables of year-end reports.

Definitions (stated in the report's footnote too):
- registered: registrations of the year for a unit in the subtree;
- built: registrations marked built, or that became a proposal;
- proposed: proposals sent that year (withdrawn ones left out);
- recognised: proposals recognised that year (the decision's date, else the last change);
- replicated: recognised models of the subtree that at least one unit declared, during the
  year, it replicates.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from io import BytesIO

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from openpyxl import Workbook

from bot.formatting import VIETNAM, esc
from bot.org.tree import OrgTree
from bot.proposals.models import Proposal, State, area_label
from bot.proposals.store import ProposalStore
from bot.proposals.year import DvkYear, Registration

COLUMNS = ("Đăng ký", "Đã xây dựng", "Đề xuất", "Được công nhận", "Được nhân rộng")
NOTE = ("Đăng ký: mô hình đơn vị đăng ký xây dựng trong năm; Đã xây dựng: mô hình đăng ký đã "
        "hoàn thành hoặc đã đề xuất công nhận; Đề xuất: đề xuất gửi trong năm (không tính đề "
        "xuất đã rút); Được công nhận: công nhận trong năm; Được nhân rộng: mô hình được công "
        "nhận có đơn vị đăng ký nhân rộng trong năm.")
FONT = "DejaVu Sans"


@dataclass
class Counts:
    """One row of the report."""

    values: list[int] = field(default_factory=lambda: [0] * len(COLUMNS))

    def add(self, column: int) -> None:
        """Count one more in a column."""
        self.values[column] += 1


@dataclass
class Annual:
    """The report of `root` for `year`: rows by child unit (and the unit itself), by field."""

    root: str
    year: int
    total: Counts
    by_unit: dict[str, Counts]  # child unit id (or root for its own) -> counts
    by_field: dict[str, Counts]  # field label -> counts


async def gather(dvk: DvkYear, proposals: list[Proposal], tree: OrgTree, root: str,
                 year: int) -> Annual:
    """Count everything for `root`'s subtree in `year`."""
    report = Annual(root, year, Counts(), {u: Counts() for u in _rows(tree, root)}, {})
    for field_ in dvk.config.fields:
        report.by_field[field_.name] = Counts()
    regs = [r for r in await dvk.registrations(year) if _inside(tree, r.unit, root)]
    proposed = {p.registration for p in proposals if p.registration}
    for reg in regs:
        _count(report, tree, reg.unit, _label(reg), 0)
        if reg.built or reg.id in proposed:
            _count(report, tree, reg.unit, _label(reg), 1)
    mine = [p for p in proposals if _inside(tree, p.unit, root)]
    for p in mine:
        if p.state is not State.WITHDRAWN and p.submitted_at.astimezone(VIETNAM).year == year:
            _count(report, tree, p.unit, area_label(p.area, p.area_name), 2)
        if p.state is State.RECOGNISED and _recognised_year(p) == year:
            _count(report, tree, p.unit, area_label(p.area, p.area_name), 3)
    for p in (p for p in mine if p.state is State.RECOGNISED):
        if any(r.at.astimezone(VIETNAM).year == year for r in await dvk.replicas(p.code)):
            _count(report, tree, p.unit, area_label(p.area, p.area_name), 4)
    return report


def _rows(tree: OrgTree, root: str) -> list[str]:
    return [*tree.children.get(root, ()), root]


def _inside(tree: OrgTree, unit: str, root: str) -> bool:
    return tree.get(unit) is not None and tree.within(unit, root)


def _label(reg: Registration) -> str:
    return area_label(reg.area, reg.area_name)


def _recognised_year(p: Proposal) -> int:
    if p.recognition is not None:
        return p.recognition.day.year
    return p.updated_at.astimezone(VIETNAM).year


def _count(report: Annual, tree: OrgTree, unit: str, label: str, column: int) -> None:
    report.total.add(column)
    report.by_unit[_child(tree, unit, report.root)].add(column)
    report.by_field.setdefault(label, Counts()).add(column)


def _child(tree: OrgTree, unit: str, root: str) -> str:
    """The child of `root` on the way to `unit` (root itself for its own models)."""
    if unit == root:
        return root
    chain = tree.ancestors(unit)
    return chain[chain.index(root) - 1]


def unit_name(tree: OrgTree, report: Annual, unit: str) -> str:
    """A row's name: the child unit's, or 'Trực tiếp <đơn vị>' for the unit's own models."""
    name = tree.units[unit].name
    return f"Trực tiếp {name}" if unit == report.root else name


def text(report: Annual, tree: OrgTree) -> str:
    """The report as chat text (HTML subset)."""
    t = report.total.values
    lines = [f"<b>Báo cáo phong trào “Dân vận khéo” năm {report.year}</b>",
             esc(tree.path(report.root)), "",
             f"Đăng ký <b>{t[0]}</b> · đã xây dựng <b>{t[1]}</b> · đề xuất <b>{t[2]}</b> · "
             f"được công nhận <b>{t[3]}</b> · được nhân rộng <b>{t[4]}</b>", "",
             "<b>Theo đơn vị</b> (đăng ký / xây dựng / đề xuất / công nhận / nhân rộng)"]
    lines += [f"• {esc(unit_name(tree, report, u))}: {_slash(c)}"
              for u, c in report.by_unit.items() if any(c.values) or u != report.root]
    lines += ["", "<b>Theo lĩnh vực</b>"]
    lines += [f"• {esc(label)}: {_slash(c)}" for label, c in report.by_field.items()]
    lines += ["", f"<i>{NOTE}</i>"]
    return "\n".join(lines)


def _slash(counts: Counts) -> str:
    return " / ".join(f"{v:,}".replace(",", ".") for v in counts.values)


def to_xlsx(report: Annual, tree: OrgTree) -> bytes:
    """Two sheets, as year-end reports tabulate: by unit, by field, each with a total row."""
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "Theo don vi"
    for sheet, head, items in (
            (first, "Đơn vị", [(unit_name(tree, report, u), c)
                               for u, c in report.by_unit.items()]),
            (book.create_sheet("Theo linh vuc"), "Lĩnh vực", list(report.by_field.items()))):
        sheet.append([f"Phong trào thi đua “Dân vận khéo” năm {report.year} — "
                      f"{tree.units[report.root].name}"])
        sheet.append(["STT", head, *COLUMNS])
        for n, (name, counts) in enumerate(items, 1):
            sheet.append([n, name, *counts.values])
        sheet.append(["", "Tổng cộng", *report.total.values])
        sheet.append([])
        sheet.append([NOTE])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def chart_png(report: Annual, tree: OrgTree) -> bytes:
    """Grouped horizontal bars: each child unit's five counts."""
    units = [u for u, c in report.by_unit.items() if any(c.values) or u != report.root]
    figure = Figure(figsize=(8, max(3.0, 0.9 * len(units) + 1.5)), layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(textwrap.fill(f"“Dân vận khéo” năm {report.year} — "
                                  f"{tree.units[report.root].name}", 70),
                    fontfamily=FONT, fontsize=12)
    ax = figure.subplots()
    height = 0.8 / len(COLUMNS)
    for column, name in enumerate(COLUMNS):
        ys = [i + column * height for i in range(len(units))]
        ax.barh(ys, [report.by_unit[u].values[column] for u in units], height=height,
                label=name)
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(units))],
                  [textwrap.shorten(unit_name(tree, report, u), 40) for u in units],
                  fontfamily=FONT)
    ax.invert_yaxis()
    ax.legend(prop={"family": FONT})
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


async def every_proposal(dvk_store: ProposalStore, batch: int = 500) -> list[Proposal]:
    """All proposals, oldest first, read a batch at a time."""
    codes = await dvk_store.all_codes()
    found: list[Proposal] = []
    for start in range(0, len(codes), batch):
        found += await dvk_store.many(codes[start:start + batch])
    return found
