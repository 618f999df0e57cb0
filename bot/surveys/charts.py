"""Bar charts of a survey's results as PNG: matplotlib's Agg canvas through `Figure` (no pyplot
global state), DejaVu Sans (shipped with matplotlib) for Vietnamese diacritics."""

from __future__ import annotations

import textwrap
from io import BytesIO

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.surveys.models import Kind
from bot.surveys.report import Report
from bot.surveys.results import distribution, percent

FONT = "DejaVu Sans"


def chart_png(report: Report) -> bytes:
    """One horizontal bar panel per choice/scale question (percent of answers), then the
    response rate of each shown unit; suppressed units are left out."""
    survey = report.survey
    panels = [i for i, q in enumerate(survey.questions) if q.kind is not Kind.TEXT]
    shown = [r.unit for r in report.rows if r.shown and r.depth == 1]
    count = len(panels) + (1 if shown else 0)
    heights = [0.5 + 0.35 * len(survey.questions[i].choices()) for i in panels]
    if shown:
        heights.append(0.5 + 0.35 * len(shown))
    figure = Figure(figsize=(8, max(2.0, sum(heights) + 1.2 * count)), layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(textwrap.fill(survey.title, 70), fontfamily=FONT, fontsize=12)
    axes = figure.subplots(max(count, 1), 1, squeeze=False,
                           height_ratios=heights or None)[:, 0]
    for ax, index in zip(axes, panels, strict=False):
        question = survey.questions[index]
        data = distribution(question, index, report.total)
        _bars(ax, [textwrap.shorten(d[0], 40) for d in data], [d[2] for d in data],
              f"Câu {index + 1}. {question.text}")
    if shown:
        rates = [percent(report.cells[u].answers, report.cells[u].audience) for u in shown]
        _bars(axes[-1], [textwrap.shorten(report.tree.units[u].name, 40) for u in shown], rates,
              "Tỷ lệ trả lời theo đơn vị")
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
