"""From raw counters to what a cadre may see: roll-up per unit and k-anonymity suppression.

Counters are stored per recording unit (see recording.recording_units). A breakdown cell (a unit's
subtree) with fewer than k answers is never shown: its answers stay only in its parent's
figures ("merged upward"). Because parent − shown children would then reveal the hidden part,
the hidden part of every parent (hidden children plus answers recorded at the parent itself)
must be 0 or at least k; if not, the smallest shown sibling is hidden too, and so on
(complementary suppression). Named surveys promise no anonymity and use k = 1.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bot.org.tree import OrgTree
from bot.surveys.models import Kind, Question, Survey


@dataclass
class Cell:
    """Counters of one unit's subtree: audience, answers, `q|opt` counts."""

    audience: int = 0
    answers: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, other: Cell) -> None:
        """Add another cell's counters into this one."""
        self.audience += other.audience
        self.answers += other.answers
        self.counts.update(other.counts)


@dataclass(frozen=True)
class Row:
    """One line of the breakdown: a unit below the survey's unit, shown or suppressed."""

    unit: str
    depth: int
    shown: bool


def recorded_cells(tally: dict[str, int]) -> dict[str, Cell]:
    """Parse the tally hash into one Cell per recording unit."""
    cells: dict[str, Cell] = {}
    for name, value in tally.items():
        head, _, rest = name.partition("|")
        unit = rest if head in ("a", "n") else head
        cell = cells.get(unit)
        if cell is None:  # not setdefault: a Cell per field would dominate the render time
            cell = cells[unit] = Cell()
        if head == "a":
            cell.audience += value
        elif head == "n":
            cell.answers += value
        else:
            cell.counts[rest] += value
    return cells


def rollup(tree: OrgTree, root: str, recorded: dict[str, Cell]) -> dict[str, Cell]:
    """Unit -> counters of its whole subtree, for the root and every unit below it."""
    cells: dict[str, Cell] = {}
    for unit, cell in recorded.items():
        chain = tree.ancestors(unit)
        for up in chain[:chain.index(root) + 1] if root in chain else [root]:
            cells.setdefault(up, Cell()).add(cell)
    return cells


def min_group(survey: Survey, k: int) -> int:
    """The k that applies: the deployment's for anonymous surveys, 1 for named ones."""
    return k if survey.anonymous else 1


def breakdown(tree: OrgTree, root: str, cells: dict[str, Cell], k: int,
              max_depth: int = 2) -> list[Row]:
    """Rows below `root` (depth first, at most `max_depth` levels), each shown or suppressed."""
    rows: list[Row] = []
    if cells.get(root, Cell()).answers < k:
        return rows
    _level(tree, root, cells, k, 1, max_depth, rows)
    return rows


def _level(tree: OrgTree, parent: str, cells: dict[str, Cell], k: int, depth: int,
           max_depth: int, rows: list[Row]) -> None:
    children = [c for c in tree.children.get(parent, ()) if c in cells and cells[c].audience > 0]
    if not children:  # the common case below a Khối's hundreds of units: nothing to weigh
        return
    shown = visible_children(parent, children, cells, k)
    for child in children:
        rows.append(Row(child, depth, child in shown))
        if child in shown and depth < max_depth:
            _level(tree, child, cells, k, depth + 1, max_depth, rows)


def visible_children(parent: str, children: list[str], cells: dict[str, Cell], k: int
                     ) -> set[str]:
    """Children whose figures may be shown beside the parent's (see the module docstring)."""
    answers = {c: cells[c].answers if c in cells else 0 for c in children}
    shown = {c for c in children if answers[c] >= k}
    hidden_sum = cells.get(parent, Cell()).answers - sum(answers[c] for c in shown)
    # Smallest first; ties broken by id so the choice is stable between renderings.
    for candidate in sorted(shown, key=lambda c: (answers[c], c)):
        if hidden_sum == 0 or hidden_sum >= k:
            break
        shown.discard(candidate)
        hidden_sum += answers[candidate]
    return shown


def shown_owner(tree: OrgTree, root: str, unit: str, rows: list[Row]) -> str:
    """The nearest unit (the unit itself or an ancestor) whose figures are shown: where a
    free text recorded under `unit` may be attributed without singling out a small group."""
    shown = {r.unit for r in rows if r.shown}
    for up in tree.ancestors(unit):
        if up in shown or up == root:
            return up
    return root


def percent(part: int, whole: int) -> int:
    """Rounded percentage, 0 when there is no whole."""
    return round(100 * part / whole) if whole else 0


def distribution(question: Question, index: int, cell: Cell) -> list[tuple[str, int, int]]:
    """(label, count, percent of answers) per option of a choice or scale question."""
    return [(label, cell.counts[f"{index}|{i}"], percent(cell.counts[f"{index}|{i}"],
                                                         cell.answers))
            for i, label in enumerate(question.choices())]


def mean_score(index: int, cell: Cell) -> float | None:
    """Average of a 1–5 scale question, or None without answers."""
    total = sum(cell.counts[f"{index}|{i}"] for i in range(5))
    if not total:
        return None
    return sum((i + 1) * cell.counts[f"{index}|{i}"] for i in range(5)) / total


def headline(question: Question, index: int, cell: Cell) -> str:
    """One compact figure per question for a breakdown row."""
    if question.kind is Kind.SCALE:
        mean = mean_score(index, cell)
        return f"TB {mean:.1f}".replace(".", ",") if mean is not None else "—"
    if question.kind is Kind.TEXT:
        return f"{cell.counts[f'{index}|t']} ý kiến"
    label, count, share = max(distribution(question, index, cell), key=lambda d: d[1])
    return f"{label} {share}%" if count else "—"
