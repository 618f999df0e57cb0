"""`/baocao [năm]`: the year-end report of the "Dân vận khéo" movement for a unit in the cadre's
scope — text in the chat, a bar chart and an XLSX. Every press re-checks the scope."""

from __future__ import annotations

from pathlib import Path

from bot.engine.actions import act
from bot.engine.messages import Attachment, Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import VIETNAM, esc, split_text
from bot.org import access
from bot.org.models import Role
from bot.proposals.annual import Annual, chart_png, every_proposal, gather, text, to_xlsx
from handlers.account.menu import BACK
from handlers.proposals.enrol import cadre
from handlers.proposals.ui import arg, number

NOT_CADRE = "Báo cáo phong trào dành cho đồng chí được phân công phụ trách đơn vị."
PART = 3500


async def command(request: Request) -> Outcome:
    """`/baocao` (this year) or `/baocao 2025`: the cadre's unit, or a choice among several."""
    year = _year(request, request.args[0] if request.args else "")
    tree = await request.tree()
    roots = access.top_scopes(request.me, Role.CADRE, tree)
    if not roots:
        raise access.Forbidden(NOT_CADRE)
    if len(roots) == 1:
        return await _show(request, roots[0], year)
    buttons = [Button(tree.units[r].name, act("yr", r, str(year))) for r in roots[:8]]
    return Outcome([Reply(f"Báo cáo năm {year}: đồng chí chọn đơn vị.",
                          buttons=rows(*buttons, BACK))])


async def show(request: Request) -> Outcome:
    """The report of a unit and year from a button."""
    return await _show(request, arg(request, 0), number(request, 1))


async def chart(request: Request) -> Outcome:
    """The bar chart as a photo."""
    report, tree_name = await _report(request, arg(request, 0), number(request, 1))
    path = _out(request, report, "png")
    path.write_bytes(chart_png(report, await request.tree()))
    return Outcome([Reply("", photo=Attachment(path, path.name,
                                               caption=f"Biểu đồ “Dân vận khéo” năm "
                                                       f"{report.year} — {esc(tree_name)}"),
                          buttons=rows(_back(report)))])


async def xlsx(request: Request) -> Outcome:
    """The XLSX as a document."""
    report, tree_name = await _report(request, arg(request, 0), number(request, 1))
    path = _out(request, report, "xlsx")
    path.write_bytes(to_xlsx(report, await request.tree()))
    return Outcome([Reply("", document=Attachment(path, path.name,
                                                  caption=f"Báo cáo “Dân vận khéo” năm "
                                                          f"{report.year} — {esc(tree_name)}"),
                          buttons=rows(_back(report)))])


async def _show(request: Request, unit: str, year: int) -> Outcome:
    report, _name = await _report(request, unit, year)
    parts = split_text(text(report, await request.tree()), PART)
    buttons = [Button("Biểu đồ", act("yr.c", unit, str(year))),
               Button("Tải Excel (XLSX)", act("yr.x", unit, str(year))),
               Button(f"Năm {year - 1}", act("yr", unit, str(year - 1))), BACK]
    return Outcome([*(Reply(p) for p in parts[:-1]), Reply(parts[-1], buttons=rows(*buttons))])


async def _report(request: Request, unit: str, year: int) -> tuple[Annual, str]:
    tree = await request.tree()
    access.require(request.me, Role.CADRE, unit, tree)
    if not 2009 <= year <= 2100:
        raise access.Forbidden("Năm không hợp lệ.")
    proposals = await every_proposal(request.deps.proposals.store)
    report = await gather(request.deps.dvk, proposals, tree, unit, year)
    return report, tree.units[unit].name


def _year(request: Request, raw: str) -> int:
    if raw.isdigit() and len(raw) == 4:
        return int(raw)
    if raw:
        raise access.Forbidden("Cú pháp: /baocao hoặc /baocao 2025 (năm có 4 chữ số).")
    return request.now().astimezone(VIETNAM).year


def _back(report: Annual) -> Button:
    return Button("« Về báo cáo", act("yr", report.root, str(report.year)))


def _out(request: Request, report: Annual, ext: str) -> Path:
    folder = request.deps.settings.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = request.now().strftime("%Y%m%d-%H%M%S")
    return folder / f"dan-van-kheo-{report.year}-{report.root}-{stamp}.{ext}"


def register(router: Router) -> None:
    """Register /baocao and its buttons."""
    router.command("baocao", command, description="Báo cáo phong trào Dân vận khéo (cán bộ)",
                   visible=cadre)
    router.action("yr", show)
    router.action("yr.c", chart)
    router.action("yr.x", xlsx)
    router.menu_item("Báo cáo Dân vận khéo", act("yr.me"), order=67, visible=cadre)
    router.action("yr.me", command)
