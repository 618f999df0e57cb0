"""The monthly report of a unit's subtree: received, answered, days to answer, satisfaction,
by topic and by unit — with no cell of anonymous threads under k.

Counters are kept per (attributed unit, topic, named/anonymous) in the month's hash. A row
shows its anonymous part only when it holds at least k anonymous threads; smaller parts are
pooled into one row, and when that pool is itself under k the smallest shown part joins it
until it reaches k. A table whose anonymous threads are fewer than k in all shows none of
them. Both tables therefore show the same totals, so one cannot be subtracted from the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.org.tree import OrgTree

METRICS = ("n", "ans", "days", "sat", "uns")
POOL = "__pool__"


@dataclass
class Cell:
    """Sums of one group of threads."""

    n: int = 0
    ans: int = 0
    days: int = 0
    sat: int = 0
    uns: int = 0

    def add(self, other: Cell) -> None:
        """Add another cell's sums."""
        for name in METRICS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def mean_days(self) -> float | None:
        """Average days to the first answer, over answered threads."""
        return self.days / self.ans if self.ans else None


@dataclass
class Row:
    """One line of a table: the named part, and the anonymous part when it may be shown."""

    key: str
    named: Cell = field(default_factory=Cell)
    anonymous: Cell = field(default_factory=Cell)
    pooled: bool = False  # its anonymous part went into the pooled row

    @property
    def shown(self) -> Cell:
        """What the row displays."""
        out = Cell()
        out.add(self.named)
        if not self.pooled:
            out.add(self.anonymous)
        return out


@dataclass
class Report:
    """One month of one unit's subtree."""

    unit: str
    month: str
    by_topic: list[Row]
    by_unit: list[Row]
    total: Cell


def groups(tree: OrgTree, root: str) -> dict[str, str]:
    """Unit -> its row in the by-unit table: the child of `root` on the way down to it (or
    `root` itself), for every unit of `root`'s subtree."""
    out: dict[str, str] = {}
    for unit in tree.subtree(root):
        chain = tree.ancestors(unit)
        index = chain.index(root) if root in chain else 0
        out[unit] = chain[index - 1] if index > 0 else root
    return out


def rollup(counters: dict[str, int], rows: dict[str, str]) -> dict[str, int]:
    """What `ThreadStore.rolled_up` computes on the server, in Python (tests compare them)."""
    sums: dict[str, int] = {}
    for name, value in counters.items():
        parts = name.split("|")
        if len(parts) != 4 or parts[0] not in rows:
            continue
        unit, topic, kind, metric = parts
        for key in (f"t|{topic}|{kind}|{metric}", f"u|{rows[unit]}|{kind}|{metric}"):
            sums[key] = sums.get(key, 0) + value
    return sums


def build(rolled: dict[str, int], root: str, month: str, k: int) -> Report:
    """The report with suppression applied, from rolled-up sums."""
    tables: dict[str, dict[str, Row]] = {"t": {}, "u": {}}
    for name, value in rolled.items():
        table, key, kind, metric = name.split("|")
        if table not in tables or metric not in METRICS:
            continue
        row = tables[table].setdefault(key, Row(key))
        cell = row.anonymous if kind == "a" else row.named
        setattr(cell, metric, getattr(cell, metric) + value)
    topic_rows, total = suppress(list(tables["t"].values()), k)
    unit_rows, _same = suppress(list(tables["u"].values()), k)
    return Report(root, month, topic_rows, unit_rows, total)


def suppress(rows: list[Row], k: int) -> tuple[list[Row], Cell]:
    """Rows with every shown anonymous part ≥ k (plus a pooled row ≥ k), and the total."""
    anonymous = Cell()
    for row in rows:
        anonymous.add(row.anonymous)
    if anonymous.n < k:  # too few in all: show no anonymous thread anywhere
        for row in rows:
            row.pooled = row.anonymous.n > 0
        return _with_total(rows, None)
    for row in rows:
        row.pooled = 0 < row.anonymous.n < k
    while 0 < _pool(rows).n < k:
        smallest = min((r for r in rows if not r.pooled and r.anonymous.n > 0),
                       key=lambda r: r.anonymous.n)
        smallest.pooled = True
    pool = _pool(rows)
    return _with_total(rows, Row(POOL, anonymous=pool) if pool.n else None)


def _pool(rows: list[Row]) -> Cell:
    pool = Cell()
    for row in rows:
        if row.pooled:
            pool.add(row.anonymous)
    return pool


def _with_total(rows: list[Row], pool: Row | None) -> tuple[list[Row], Cell]:
    shown = sorted(rows, key=lambda r: r.key) + ([pool] if pool else [])
    total = Cell()
    for row in shown:
        total.add(row.shown)
    return shown, total


def smallest_anonymous_cell(report: Report) -> int | None:
    """The smallest anonymous count any row displays (None when none does): for tests and the
    benchmark's self-check, never under k."""
    sizes = [r.anonymous.n for r in (*report.by_topic, *report.by_unit)
             if not r.pooled and r.anonymous.n > 0]
    return min(sizes) if sizes else None
