"""Cadres publish a directive from the chat: unit → số hiệu → title → date → issuer → summary →
optional PDF → preview → publish. The draft lives in the dialog; nothing is stored until the
cadre confirms, and the result goes through the same `Directive` validation as content files.

Publishing a số hiệu that already exists with the same year of issue updates that directive
(never a duplicate), and only if the cadre may manage the existing document's audience too; with
another year it is a new document of another term (handlers/library/same_number.py).
"""

from __future__ import annotations

from datetime import date

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import VIETNAM, esc, sentence
from bot.library.models import parse_vn_date
from bot.library.sohieu import BadSoHieu, parse
from bot.org import access
from bot.org.models import Role
from bot.org.tree import OrgTree
from handlers.account.cancel import CANCEL
from handlers.account.menu import BACK
from handlers.library import same_number
from handlers.library.publish_file import FLOW, SKIP, confirm, file_step, skip_file, waiting
from handlers.library.ui import arg, page_arg, pager_units

ASK_SO_HIEU = ("<b>Đăng văn bản mới</b> — đối tượng: {unit}\n\n"
               "Bước 1/6. Xin đồng chí gõ <b>số hiệu</b> văn bản, ví dụ <code>12-NQ/ĐU</code>, "
               "<code>05-CT/TU</code>, <code>25-NQ/TW</code>.")
STEPS = {
    "pub.title": "Bước 2/6. Gõ <b>trích yếu</b> (tên) văn bản, ví dụ: "
                 "<i>Về tăng cường công tác dân vận trong tình hình mới</i>.",
    "pub.date": "Bước 3/6. Gõ <b>ngày ban hành</b> dạng ngày/tháng/năm, ví dụ 03/6/2013.",
    "pub.issuer": "Bước 4/6. Gõ <b>cơ quan ban hành</b>, ví dụ: Ban Thường vụ Đảng ủy, "
                  "Bộ Chính trị, Ban Bí thư.",
    "pub.summary": "Bước 5/6. Gõ <b>tóm tắt</b> nội dung chính (vài câu, tối đa 3.000 ký tự).",
}


async def begin(request: Request) -> Outcome:
    """Menu entry: choose the unit the directive is for, starting at the cadre's scope."""
    tree = await request.tree()
    roots = access.top_scopes(request.me, Role.CADRE, tree)
    if not roots:
        raise access.Forbidden("Chức năng này dành cho đồng chí được phân công phụ trách đơn vị.")
    if len(roots) == 1:
        return _picker(request, tree, roots[0], 0)
    buttons = [Button(f"› {tree.units[r].name}", act("pub.u", r, "0")) for r in roots]
    return _say(request, "<b>Đăng văn bản mới</b>\nVăn bản dành cho đơn vị nào?",
                [*buttons, BACK])


async def browse(request: Request) -> Outcome:
    """Go down the tree to a smaller audience."""
    unit_id = arg(request, 0)
    tree = await request.tree()
    access.require(request.me, Role.CADRE, unit_id, tree)
    return _picker(request, tree, unit_id, page_arg(request, 1))


async def choose(request: Request) -> Outcome:
    """The audience is chosen: open the form."""
    unit_id = arg(request, 0)
    tree = await request.tree()
    access.require(request.me, Role.CADRE, unit_id, tree)
    text = ASK_SO_HIEU.format(unit=esc(tree.path(unit_id)))
    return Outcome([Reply(text, buttons=rows(CANCEL))],
                   dialog=Dialog(flow=FLOW, step="pub.so_hieu", data={"unit": unit_id}))


async def so_hieu_step(request: Request) -> Outcome:
    """Check the số hiệu, and whether publishing it would update an existing directive."""
    dialog = _dialog(request)
    try:
        parsed = parse(request.text)
    except BadSoHieu as exc:
        return _again(dialog, f"{esc(sentence(str(exc)))}. Xin đồng chí gõ lại số hiệu.")
    note = await same_number.note(request, parsed)
    if note is None:
        return _again(dialog, f"Thư viện đã có văn bản số {esc(parsed.text)} (năm khác), nhưng số "
                              "hiệu này quá dài để phân biệt theo năm ban hành. Xin đồng chí "
                              "gõ số hiệu khác.")
    return _next(dialog.at("pub.title", so_hieu=parsed.text), note)


async def _line_step(request: Request, field: str, label: str, low: int, high: int,
                     next_step: str) -> Outcome:
    """One-line field: whitespace folded, length between `low` and `high`."""
    dialog = _dialog(request)
    value = " ".join(request.text.split())
    if not low <= len(value) <= high:
        return _again(dialog, f"{label} cần từ {low} đến {high} ký tự. Xin đồng chí gõ lại.")
    return _next(dialog.at(next_step, **{field: value}))


async def title_step(request: Request) -> Outcome:
    """Trích yếu: 5–300 characters."""
    return await _line_step(request, "title", "Trích yếu", 5, 300, "pub.date")


async def date_step(request: Request) -> Outcome:
    """Ngày ban hành: a real date, not in the future."""
    dialog = _dialog(request)
    try:
        issued = parse_vn_date(request.text)
    except ValueError as exc:
        return _again(dialog, f"{esc(sentence(str(exc)))}. Xin đồng chí gõ lại, ví dụ 03/6/2013.")
    today = request.now().astimezone(VIETNAM).date()
    if not isinstance(issued, date) or not date(1930, 1, 1) <= issued <= today:
        return _again(dialog, "Ngày ban hành cần dạng ngày/tháng/năm, từ năm 1930 đến hôm nay "
                              "(ví dụ 03/6/2013). Xin đồng chí gõ lại.")
    refused = await same_number.refusal(request, str(dialog.data["so_hieu"]), issued)
    if refused:
        return _again(dialog, refused)
    return _next(dialog.at("pub.issuer", issued=issued.isoformat()))


async def issuer_step(request: Request) -> Outcome:
    """Cơ quan ban hành: 3–200 characters."""
    return await _line_step(request, "issuer", "Tên cơ quan ban hành", 3, 200, "pub.summary")


async def summary_step(request: Request) -> Outcome:
    """Tóm tắt: 10–3,000 characters; then the optional PDF."""
    dialog = _dialog(request)
    summary = request.text.strip()
    if not 10 <= len(summary) <= 3000:
        return _again(dialog, "Tóm tắt cần từ 10 đến 3.000 ký tự. Xin đồng chí gõ lại.")
    text = ("Bước 6/6. Nếu có <b>tệp PDF toàn văn</b>, xin đồng chí gửi tệp vào đây. "
            "Nếu không, bấm <b>Bỏ qua</b>.")
    buttons = rows(SKIP, CANCEL)
    return Outcome([Reply(text, buttons=buttons)], dialog=dialog.at("pub.file", summary=summary))


def _picker(request: Request, tree: OrgTree, unit_id: str, page: int) -> Outcome:
    unit = tree.units[unit_id]
    children, nav = pager_units(tree, unit_id, page, "pub.u")
    buttons = [Button(f"✓ Đăng cho {unit.name}", act("pub.r", unit_id))]
    buttons += [Button(f"› {tree.units[c].name}", act("pub.u", c, "0")) for c in children]
    buttons += nav
    if unit.parent and access.can(request.me, Role.CADRE, unit.parent, tree):
        buttons.append(Button("« Lên cấp trên", act("pub.u", unit.parent, "0")))
    text = (f"<b>Đăng văn bản mới</b>\nĐơn vị: {esc(tree.path(unit_id))}\n"
            "Văn bản dành cho đơn vị này (và các đơn vị trực thuộc), hay một đơn vị nhỏ hơn?")
    return _say(request, text, [*buttons, BACK])


def _say(request: Request, text: str, buttons: list[Button]) -> Outcome:
    return Outcome([Reply(text, buttons=rows(*buttons), edit=request.incoming.action is not None)])


def _dialog(request: Request) -> Dialog:
    assert request.dialog is not None  # steps only run inside their dialog
    return request.dialog


def _next(dialog: Dialog, note: str = "") -> Outcome:
    return Outcome([Reply(note + STEPS[dialog.step], buttons=rows(CANCEL))], dialog=dialog)


def _again(dialog: Dialog, problem: str) -> Outcome:
    return Outcome([Reply(problem, buttons=rows(CANCEL))], dialog=dialog)


def register(router: Router) -> None:
    """Register the unit picker, the form steps and the menu item (cadres only)."""
    router.action("pub", begin)
    router.action("pub.u", browse)
    router.action("pub.r", choose)
    router.action("pub.skip", skip_file)
    router.action("pub.ok", confirm)
    for step, handler in (("pub.so_hieu", so_hieu_step), ("pub.title", title_step),
                          ("pub.date", date_step), ("pub.issuer", issuer_step),
                          ("pub.summary", summary_step), ("pub.confirm", waiting)):
        router.step(step, handler, text=step != "pub.confirm")
    router.step("pub.file", file_step, files=True)
    router.menu_item("Đăng văn bản mới", act("pub"), order=60,
                     visible=lambda m: access.has_any(m, Role.CADRE))
