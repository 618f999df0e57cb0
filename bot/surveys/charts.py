"""Bar charts of a survey's results as PNG: matplotlib's Agg canvas through `Figure` (no pyplot
global state), DejaVu Sans (shipped with matplotlib) for Vietnamese diacritics."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from io import BytesIO

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.surveys.models import Kind
from bot.surveys.report import Report
from bot.surveys.results import distribution, percent

FONT = "DejaVu Sans"


@dataclass(frozen=True)
class Panel:
    """One bar panel: its title, and a (label, percent) per bar."""

    title: str
    bars: list[tuple[str, int]]


def chart_data(report: Report) -> list[Panel]:
    """What the chart draws, from the suppressed result: one panel per choice/scale question
    (percent of answers), then the response rate of each shown first-level unit; nothing at
    all with fewer than k answers overall."""
    if not report.enough:
        return []
    survey = report.survey
    panels = []
    for index, question in enumerate(survey.questions):
        if question.kind is not Kind.TEXT:
            data = distribution(question, index, report.total)
            panels.append(Panel(f"Câu {index + 1}. {question.text}",
                                [(textwrap.shorten(d[0], 40), d[2]) for d in data]))
    shown = [r.unit for r in report.rows if r.shown and r.depth == 1]
    if shown:
        panels.append(Panel("Tỷ lệ trả lời theo đơn vị", [
            (textwrap.shorten(report.tree.units[u].name, 40),
             percent(report.cells[u].answers, report.cells[u].audience)) for u in shown]))
    return panels


def chart_png(report: Report) -> bytes:
    """The panels of `chart_data` as horizontal bars, or a sentence when there are none."""
    panels = chart_data(report)
    if not panels:
        return _note(report.survey.title,
                     f"Chưa đủ {report.k} phản hồi nên chưa có biểu đồ, để bảo đảm không ai "
                     "bị nhận ra qua câu trả lời." if not report.enough
                     else "Khảo sát không có câu hỏi lựa chọn để vẽ biểu đồ.")
    heights = [0.5 + 0.35 * len(p.bars) for p in panels]
    figure = Figure(figsize=(8, max(2.0, sum(heights) + 1.2 * len(panels))),
                    layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(textwrap.fill(report.survey.title, 70), fontfamily=FONT, fontsize=12)
    axes = figure.subplots(len(panels), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, panel in zip(axes, panels, strict=True):
        _bars(ax, [b[0] for b in panel.bars], [b[1] for b in panel.bars], panel.title)
    out = BytesIO()
    figure.savefig(out, format="png", dpi=110)
    return out.getvalue()


def _note(title: str, text: str) -> bytes:
    """A small image with the title and a sentence instead of bars."""
    figure = Figure(figsize=(8, 2.0), layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(textwrap.fill(title, 70), fontfamily=FONT, fontsize=12)
    figure.text(0.5, 0.4, textwrap.fill(text, 80), ha="center", va="center",
                fontfamily=FONT, fontsize=10)
    out = BytesIO()
    figure.savefig(out, format="png", dpi=110)
    return out.getvalue()


def _bars(ax: Axes, labels: list[str], values: list[int], title: str) -> None:
    positions = list(range(len(labels)))
    ax.barh(positions, values, color="#b71c1c")
    ax.set_yticks(positions, labels, fontfamily=FONT, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("%", fontfamily=FONT)
    ax.set_title(textwrap.fill(title, 80), fontfamily=FONT, fontsize=10, loc="left")
    for y, value in zip(positions, values, strict=True):
        ax.text(value + 1, y, f"{value}%", va="center", fontfamily=FONT, fontsize=8)
