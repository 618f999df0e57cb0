"""The gallery of recognised "Dân vận khéo" models, for every member to learn from and copy
(nhân rộng): browse by field or unit, search by words (`/mohinh từ khóa`)."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, short, vn_datetime, vn_number
from bot.org import access
from bot.proposals.gallery import search, units_with_models
from bot.proposals.models import Area, Proposal, State
from bot.proposals.render import content_lines, photos
from handlers.account.menu import BACK
from handlers.proposals.ui import arg

SHOWN = 10
HOME = Button("« Thư viện mô hình", act("gal"))


async def home(request: Request) -> Outcome:
    """Choose a field or a unit, or type words to search."""
    models = await request.deps.proposals.store.gallery()
    tree = await request.tree()
    count = f"Có {vn_number(len(models))} mô hình." if models else "Chưa có mô hình nào."
    text = (f"<b>Mô hình Dân vận khéo được công nhận</b>\n{count} Đồng chí "
            "chọn lĩnh vực hoặc đơn vị, hoặc gõ từ khóa để tìm (ví dụ: «thủ tục hành chính»).")
    buttons = [Button("Tất cả mô hình", act("gal.a", "all"))]
    buttons += [Button(a.label, act("gal.a", a.value)) for a in Area]
    buttons += [Button(f"Đơn vị: {tree.units[u].name}", act("gal.u", u))
                for u in units_with_models(models, tree)[:10]]
    edit = request.incoming.action is not None
    return Outcome([Reply(text, buttons=rows(*buttons, BACK), edit=edit)],
                   dialog=Dialog(flow="gal", step="gal.q"))


async def by_area(request: Request) -> Outcome:
    """Models of one field (or all)."""
    raw = arg(request, 0)
    if raw != "all" and raw not in {a.value for a in Area}:
        raise access.Forbidden("Lĩnh vực không hợp lệ.")
    area = None if raw == "all" else Area(raw)
    title = "Tất cả mô hình" if area is None else f"Lĩnh vực {area.label}"
    return await _listing(request, title, area=area)


async def by_unit(request: Request) -> Outcome:
    """Models of one unit's subtree."""
    unit = arg(request, 0)
    tree = await request.tree()
    if tree.get(unit) is None:
        raise access.Forbidden("Đơn vị không hợp lệ.")
    return await _listing(request, f"Đơn vị {tree.units[unit].name}", unit=unit)


async def typed(request: Request) -> Outcome:
    """Words typed on the gallery screen, or `/mohinh từ khóa`."""
    words = " ".join(request.args) if request.args else request.text
    if request.text.startswith("/") and not request.args:
        return await home(request)
    return await _listing(request, f"Tìm «{words[:100]}»", words=words[:100])


async def show(request: Request) -> Outcome:
    """One recognised model, with its photos."""
    p = await request.deps.proposals.store.get(arg(request, 0))
    if p is None or p.state is not State.RECOGNISED:
        raise access.Forbidden("Mô hình này không có trong thư viện mô hình được công nhận.")
    tree = await request.tree()
    lines = [f"<b>{esc(p.name)}</b>", f"Mã {p.code} — công nhận ngày "
             f"{vn_datetime(p.updated_at, with_time=False)}", ""]
    lines += content_lines(p, tree)[1:]
    if p.answer:
        lines += ["", f"<b>Ý kiến công nhận:</b> {esc(p.answer)}"]
    return Outcome([*photos(p, request.deps.library.files, p.name),
                    Reply("\n".join(lines), buttons=rows(HOME, BACK))],
                   dialog=request.dialog)


async def _listing(request: Request, title: str, *, area: Area | None = None,
                   unit: str | None = None, words: str = "") -> Outcome:
    tree = await request.tree()
    found = search(await request.deps.proposals.store.gallery(), tree, area=area, unit=unit,
                   words=words)
    if not found:
        text = f"<b>{esc(title)}</b>\nChưa có mô hình nào phù hợp."
        return Outcome([Reply(text, buttons=rows(HOME, BACK))],
                       dialog=Dialog(flow="gal", step="gal.q"))
    text = f"<b>{esc(title)}</b>\n{len(found)} mô hình" + (
        f", hiện {SHOWN} mô hình mới nhất:" if len(found) > SHOWN else ":")
    buttons = [_button(p) for p in found[:SHOWN]]
    return Outcome([Reply(text, buttons=rows(*buttons, HOME, BACK))],
                   dialog=Dialog(flow="gal", step="gal.q"))


def _button(p: Proposal) -> Button:
    return Button(f"{short(p.name, 50)} ({p.area.label if p.area else ''})", act("gal.v", p.code))


def register(router: Router) -> None:
    """Register /mohinh, the gallery routes and its menu item (every member)."""
    router.command("mohinh", typed, description="Mô hình Dân vận khéo được công nhận")
    router.action("gal", home)
    router.action("gal.a", by_area)
    router.action("gal.u", by_unit)
    router.action("gal.v", show)
    router.step("gal.q", typed)
    router.menu_item("Mô hình Dân vận khéo được công nhận", act("gal"), order=32)
