"""Cadres see who has studied a directive: % per child unit, and the names of those who have not.

Every step re-checks that the cadre's scope covers the unit in the payload (it may be forged).
The "not yet" list is also exactly who a reminder reaches: the "Nhắc nhở" button of a report
(handlers/library/remind.py) sends to `reminder_recipients` through the delivery engine.
"""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.messages import Button
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, short, vn_number
from bot.library.audience import reach
from bot.library.coverage import (
    Report,
    Row,
    coverage,
    members_by_id,
    not_acknowledged,
    not_acknowledged_page,
)
from bot.library.models import Entry
from bot.library.status import require_current
from bot.org import access
from bot.org.models import Role
from bot.org.tree import OrgTree
from handlers.account.menu import BACK
from handlers.library.ui import arg, page_arg, pager, readable, screen, vn_date

NAMES_PAGE = 20
OTHER = Button("« Chọn văn bản khác", act("cov"))


async def pick_directive(request: Request) -> Outcome:
    """Directives whose audience meets the cadre's scope, newest first."""
    tree = await request.tree()
    roots = access.top_scopes(request.me, Role.CADRE, tree)
    if not roots:
        raise access.Forbidden("Chức năng này dành cho đồng chí được phân công phụ trách đơn vị.")
    library = await request.deps.library.snapshot()
    items = [e for e in library.directives()
             if any(reach(tree, e.audience, r) for r in roots)]
    if not items:
        return screen(request, "Chưa có văn bản nào trong phạm vi của đồng chí.", [BACK])
    shown, nav, where = pager(items, page_arg(request, 0), "cov")
    buttons = [Button(short(f"{e.so_hieu} · {e.short_title or e.title}"), act("cov.d", e.id))
               for e in shown]
    text = f"<b>Báo cáo nghiên cứu</b>{where}\nChọn văn bản cần xem tình hình nghiên cứu:"
    return screen(request, text, [*buttons, *nav, BACK])


async def pick_unit(request: Request) -> Outcome:
    """Go straight to the cadre's scope, or let them choose when they hold several."""
    doc_id = arg(request, 0)
    _library, entry = await readable(request, doc_id)
    require_current(entry)
    tree = await request.tree()
    roots = [r for r in access.top_scopes(request.me, Role.CADRE, tree)
             if reach(tree, entry.audience, r)]
    if not roots:
        raise access.Forbidden("Văn bản này không dành cho đơn vị nào trong phạm vi của "
                               "đồng chí.")
    if len(roots) == 1:
        return await _report(request, entry, roots[0])
    buttons = [Button(f"› {tree.units[r].name}", act("cov.u", doc_id, r)) for r in roots]
    return screen(request, f"<b>{esc(entry.label)}</b>\nChọn đơn vị:", [*buttons, OTHER, BACK])


async def unit_report(request: Request) -> Outcome:
    """The report for one unit in scope."""
    doc_id, unit_id = arg(request, 0), arg(request, 1)
    _library, entry = await readable(request, doc_id)
    require_current(entry)
    access.require(request.me, Role.CADRE, unit_id, await request.tree())
    return await _report(request, entry, unit_id)


async def missing(request: Request) -> Outcome:
    """Names of the members under a unit who have not studied the directive yet."""
    doc_id, unit_id, page = arg(request, 0), arg(request, 1), page_arg(request, 2)
    _library, entry = await readable(request, doc_id)
    require_current(entry)
    tree = await request.tree()
    access.require(request.me, Role.CADRE, unit_id, tree)
    deps = request.deps
    waiting = await not_acknowledged_page(deps.redis, deps.keys, tree, entry.id, unit_id,
                                          entry.audience, page, NAMES_PAGE,
                                          deps.library.sizes)
    page, pages = waiting.page, waiting.pages
    people = await members_by_id(deps.redis, deps.keys, waiting.ids)
    lines = [f"<b>Chưa nghiên cứu {esc(entry.label)}</b>",
             f"{esc(tree.path(unit_id))}: {vn_number(waiting.total)} đồng chí"
             + (f" — trang {page + 1}/{pages}" if pages > 1 else ""), ""]
    start = page * NAMES_PAGE
    lines += [f"{start + n}. {esc(m.name)} — {esc(_unit_name(tree, m.unit))}"
              for n, m in enumerate(people, start=1)]
    if not waiting.total:
        lines.append("Tất cả đảng viên trong đơn vị đã nghiên cứu văn bản này.")
    nav = []
    if page > 0:
        nav.append(Button("‹ Trang trước", act("cov.n", doc_id, unit_id, str(page - 1))))
    if page + 1 < pages:
        nav.append(Button("Trang sau ›", act("cov.n", doc_id, unit_id, str(page + 1))))
    back = Button("« Về báo cáo", act("cov.u", doc_id, unit_id))
    remind = [remind_button(doc_id, unit_id)] if waiting.total else []
    return screen(request, "\n".join(lines), [*nav, *remind, back, BACK])


def remind_button(doc_id: str, unit_id: str) -> Button:
    """"Nhắc nhở": asks first, with the exact count (handlers/library/remind.py)."""
    return Button("Nhắc nhở những đồng chí chưa nghiên cứu", act("cov.r", doc_id, unit_id))


async def reminder_recipients(request: Request, entry: Entry, unit_id: str) -> list[str]:
    """Member ids under `unit_id` who have not acknowledged `entry` (who a reminder goes to)."""
    # REMIND: handlers/library/remind.py hands exactly these ids (those with an account to
    # deliver to) to the delivery engine, after re-checking the cadre's scope.
    require_current(entry)
    deps = request.deps
    return await not_acknowledged(deps.redis, deps.keys, await request.tree(), entry.id,
                                  unit_id, entry.audience)


async def _report(request: Request, entry: Entry, unit_id: str) -> Outcome:
    tree = await request.tree()
    deps = request.deps
    report = await coverage(deps.redis, deps.keys, tree, entry.id, unit_id, entry.audience,
                            deps.library.sizes)
    text = _render(tree, entry, report)
    buttons = [Button(short(f"› {tree.units[r.unit_id].name} ({r.percent}%)"),
                      act("cov.u", entry.id, r.unit_id)) for r in report.children]
    waiting = report.total.members - report.total.acked
    if waiting:
        buttons.append(Button(f"Danh sách chưa nghiên cứu ({waiting})",
                              act("cov.n", entry.id, unit_id, "0")))
        buttons.append(remind_button(entry.id, unit_id))
    parent = tree.units[unit_id].parent
    if parent and access.can(request.me, Role.CADRE, parent, tree):
        buttons.append(Button("« Lên cấp trên", act("cov.u", entry.id, parent)))
    return screen(request, text, [*buttons, OTHER, BACK])


def _render(tree: OrgTree, entry: Entry, report: Report) -> str:
    total = report.total
    lines = ["<b>Báo cáo nghiên cứu</b>",
             f"Văn bản: <b>{esc(entry.label)}</b> ({vn_date(entry.issued)}) — {esc(entry.title)}",
             f"Đơn vị: {esc(tree.path(report.unit_id))}",
             f"Đã nghiên cứu: <b>{vn_number(total.acked)}/{vn_number(total.members)}</b> đảng viên "
             f"({total.percent}%)"]
    if report.children:
        lines += ["", "Theo đơn vị trực thuộc:"]
        lines += [_line(_unit_name(tree, r.unit_id), r) for r in report.children]
    if report.children and report.direct.members:
        lines.append(_line(f"Sinh hoạt trực tiếp tại {_unit_name(tree, report.unit_id)}",
                           report.direct))
    return "\n".join(lines)


def _line(name: str, row: Row) -> str:
    return f"• {esc(name)}: {vn_number(row.acked)}/{vn_number(row.members)} ({row.percent}%)"


def _unit_name(tree: OrgTree, unit_id: str) -> str:
    unit = tree.get(unit_id)
    return unit.name if unit else unit_id


def register(router: Router) -> None:
    """Register the report buttons and the menu item (cadres only)."""
    router.action("cov", pick_directive)
    router.action("cov.d", pick_unit)
    router.action("cov.u", unit_report)
    router.action("cov.n", missing)
    router.menu_item("Báo cáo nghiên cứu", act("cov"), order=70,
                     visible=lambda m: access.has_any(m, Role.CADRE))
