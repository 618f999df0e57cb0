"""The monthly report for a cadre's unit: received, answered, days to answer, satisfaction, by
topic and by unit below; no cell of anonymous threads under k (bot.tamtu.report)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from bot.engine.actions import act
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc
from bot.org import access
from bot.org.models import Role
from bot.org.tree import OrgTree
from bot.tamtu.report import POOL, Cell, Report, build, groups
from handlers.account.menu import BACK
from handlers.tamtu.ui import NOT_LISTENER, QUEUE, number, today, unit_name

MONTH = re.compile(r"^20\d\d-(0[1-9]|1[0-2])$")


async def show(request: Request) -> Outcome:
    """`tt.rp[|unit|YYYY-MM]`: one unit's month; the unit must be in the cadre's scope."""
    tree = await request.tree()
    roots = access.top_scopes(request.me, Role.LISTENER, tree)
    if not roots:
        raise access.Forbidden(NOT_LISTENER)
    unit = request.args[0] if request.args else roots[0]
    month = request.args[1] if len(request.args) > 1 else f"{today(request):%Y-%m}"
    if not MONTH.match(month) or not access.can(request.me, Role.LISTENER, unit, tree):
        raise access.Forbidden("Đơn vị hoặc tháng không hợp lệ.")
    service = request.deps.tamtu
    rolled = await service.store.rolled_up(month, groups(tree, unit))
    report = build(rolled, unit, month, service.policy.k)
    text = render(report, tree, service.topic_name, service.policy.k)
    earlier = _previous(month)
    buttons = [Button(f"Tháng {_month_label(earlier)}", act("tt.rp", unit, earlier))]
    if month < f"{today(request):%Y-%m}":
        later = _next(month)
        buttons.append(Button(f"Tháng {_month_label(later)}", act("tt.rp", unit, later)))
    buttons += [Button(f"Báo cáo {unit_name(tree, c)}"[:60], act("tt.rp", c, month))
                for c in tree.children.get(unit, ())[:8]]
    return Outcome([Reply(text, buttons=rows(*buttons, QUEUE, BACK))])


def render(report: Report, tree: OrgTree, topic_name: Callable[[str], str], k: int) -> str:
    """The two tables as text."""
    lines = [f"<b>Báo cáo tâm tư, kiến nghị tháng {_month_label(report.month)}</b>",
             f"{esc(unit_name(tree, report.unit))} và các đơn vị trực thuộc",
             f"Tổng: {_cell(report.total)}", "", "<b>Theo chủ đề</b>"]
    for row in report.by_topic:
        name = _pool_label(k) if row.key == POOL else esc(topic_name(row.key))
        lines.append(f"• {name}{' *' if row.pooled else ''}: {_cell(row.shown)}")
    lines += ["", "<b>Theo đơn vị</b>"]
    for row in report.by_unit:
        name = _pool_label(k) if row.key == POOL else esc(unit_name(tree, row.key))
        lines.append(f"• {name}{' *' if row.pooled else ''}: {_cell(row.shown)}")
    lines += ["", f"Tâm tư ẩn danh chỉ được tính riêng theo nhóm từ {k} tâm tư trở lên; "
                  "dòng có dấu * không gồm phần ẩn danh (đã gộp vào dòng gộp, hoặc chưa đủ "
                  f"{k} để hiển thị)."]
    if not report.by_topic:
        lines = [*lines[:3], "Chưa có tâm tư, kiến nghị nào trong tháng."]
    return "\n".join(lines)


def _cell(cell: Cell) -> str:
    mean = cell.mean_days
    days = f"{mean:.1f}".replace(".", ",") if mean is not None else "—"
    rated = cell.sat + cell.uns
    return (f"nhận {number(cell.n)}, đã trả lời {number(cell.ans)}, trả lời sau trung bình "
            f"{days} ngày, hài lòng {number(cell.sat)}/{number(rated)}")


def _pool_label(k: int) -> str:
    return f"Ẩn danh, gộp các nhóm dưới {k}"


def _month_label(month: str) -> str:
    year, mon = month.split("-")
    return f"{int(mon)}/{year}" if int(mon) > 2 else f"{mon}/{year}"


def _previous(month: str) -> str:
    first = date.fromisoformat(f"{month}-01")
    return f"{first.year - 1}-12" if first.month == 1 else f"{first.year}-{first.month - 1:02d}"


def _next(month: str) -> str:
    first = date.fromisoformat(f"{month}-01")
    return f"{first.year + 1}-01" if first.month == 12 else f"{first.year}-{first.month + 1:02d}"


def register(router: Router) -> None:
    """Register the monthly report."""
    router.action("tt.rp", show)
