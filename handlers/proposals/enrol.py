"""Đăng ký: at the start of the year a cadre registers the models (or exemplary persons and
collectives) their unit will build — name, field, goal, who, timeline — and sees which units
below have registered and which have not. A registered model later becomes the proposal for
recognition, prefilled. Every press re-checks the cadre's role over the unit in the payload.
"""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import VIETNAM, esc, nfc, short
from bot.org import access
from bot.org.models import Member, Role
from bot.org.tree import OrgTree
from bot.proposals.models import KINDS, Draft
from bot.proposals.year import Registration, in_scope
from handlers.account.cancel import CANCEL
from handlers.account.menu import BACK
from handlers.proposals import form
from handlers.proposals.ui import arg, number

FLOW = "reg"
NOT_CADRE = "Đăng ký mô hình “Dân vận khéo” do đồng chí được phân công phụ trách đơn vị thực hiện."
TEXTS = {  # key: (label, prompt, (min, max))
    "name": ("tên", "Tên mô hình (hoặc tên điển hình), 5–150 ký tự:", (5, 150)),
    "goal": ("mục tiêu", "Mục tiêu cần đạt (10–600 ký tự):", (10, 600)),
    "executor": ("chủ thể", "Ai thực hiện (3–300 ký tự): tập thể, cá nhân, đoàn thể phối hợp:",
                 (3, 300)),
    "timeline": ("thời gian", "Thời gian thực hiện (3–200 ký tự), ví dụ «tháng 3 – tháng 11»:",
                 (3, 200)),
}
ORDER = ("kind", "name", "area", "goal", "executor", "timeline")
SHOWN = 8


async def overview(request: Request) -> Outcome:
    """`/dangky`: who registered and who has not, for the cadre's unit (or a choice)."""
    tree = await request.tree()
    roots = access.top_scopes(request.me, Role.CADRE, tree)
    if not roots:
        raise access.Forbidden(NOT_CADRE)
    if len(roots) > 1 and not request.args:
        buttons = [Button(tree.units[r].name, act("reg.o", r)) for r in roots[:SHOWN]]
        return Outcome([Reply("Đồng chí chọn đơn vị:", buttons=rows(*buttons, BACK))])
    return await _overview(request, arg(request, 0) if request.args else roots[0], tree)


async def for_root(request: Request) -> Outcome:
    """The overview of one unit in scope."""
    return await _overview(request, arg(request, 0), await request.tree())


async def new(request: Request) -> Outcome:
    """"Đăng ký mô hình mới": which unit (the unit itself or one directly below)."""
    root = arg(request, 0)
    tree = await request.tree()
    access.require(request.me, Role.CADRE, root, tree)
    units = [root, *tree.children.get(root, ())][:12]
    buttons = [Button(tree.units[u].name, act("reg.u", u)) for u in units]
    return Outcome([Reply("Đăng ký cho đơn vị nào?", buttons=rows(*buttons, CANCEL))])


async def for_unit(request: Request) -> Outcome:
    """Start the form for a unit."""
    unit = arg(request, 0)
    access.require(request.me, Role.CADRE, unit, await request.tree())
    return _ask(Dialog(flow=FLOW, step="reg.w", data={"unit": unit}), request)


async def pick(request: Request) -> Outcome:
    """A kind or field button."""
    dialog = _dialog(request)
    what, value = arg(request, 0), arg(request, 1)
    if what == "kind" and value in KINDS:
        return _ask(dialog.at("reg.w", kind=value), request)
    names = {f.id: f.name for f in request.deps.dvk.config.fields}
    if what == "area" and value in names:
        return _ask(dialog.at("reg.w", area=value, area_name=names[value]), request)
    raise access.Forbidden("Lựa chọn không hợp lệ.")


async def typed(request: Request) -> Outcome:
    """A text answer."""
    dialog = _dialog(request)
    key = str(dialog.data.get("key", ""))
    if key not in TEXTS:
        raise access.Forbidden("Không có đăng ký nào đang soạn. Gõ /dangky để bắt đầu.")
    label, prompt, (low, high) = TEXTS[key]
    value = nfc(request.text).strip()
    if not low <= len(value) <= high:
        return Outcome([Reply(f"Mục {label} cần từ {low} đến {high} ký tự (vừa nhập "
                              f"{len(value)}). {prompt}", buttons=rows(CANCEL))], dialog=dialog)
    return _ask(dialog.at("reg.w", **{key: value}), request)


async def save(request: Request) -> Outcome:
    """"✓ Lưu đăng ký": store it (the scope is checked again)."""
    dialog = _dialog(request)
    data = dialog.data
    if any(key not in data for key in ORDER):
        return _ask(dialog, request)
    tree = await request.tree()
    access.require(request.me, Role.CADRE, str(data["unit"]), tree)
    item = Registration(year=_year(request), unit=str(data["unit"]), kind=data["kind"],
                        name=str(data["name"]), area=str(data["area"]),
                        area_name=str(data.get("area_name", "")), goal=str(data["goal"]),
                        executor=str(data["executor"]), timeline=str(data["timeline"]),
                        by=request.me.id, by_name=request.me.name, at=request.now())
    await request.deps.dvk.register(item)
    await request.deps.audit.record(request.me.id, "dvk_register", unit=item.unit, id=item.id)
    return await _card(request, item, lead="Đã lưu đăng ký.")


async def view(request: Request) -> Outcome:
    """One registration."""
    return await _card(request, await _registration(request))


async def mark_built(request: Request) -> Outcome:
    """"Đánh dấu đã xây dựng" (cadres over the registering unit)."""
    item = await _registration(request)
    access.require(request.me, Role.CADRE, item.unit, await request.tree())
    if not item.built:
        item = item.model_copy(update={"built": True})
        await request.deps.dvk.register(item)
    return await _card(request, item, lead="Đã ghi nhận mô hình đã xây dựng.")


async def propose(request: Request) -> Outcome:
    """"Đề xuất công nhận": the proposal form, prefilled from the registration."""
    item = await _registration(request)
    if item.unit not in (await request.tree()).ancestors(request.me.unit):
        raise access.Forbidden("Đồng chí chỉ đề xuất được mô hình của đơn vị mình hoặc cấp "
                               "trên trực tiếp của đơn vị mình.")
    draft = Draft(name=item.name, area=item.area, area_name=item.area_name, kind=item.kind,
                  unit=item.unit, executor=item.executor, registration=item.id)
    await request.deps.proposals.store.save_draft(request.me.id, draft)
    return await form.resume(request)


# ------------------------------------------------------------------------------ helpers
async def _overview(request: Request, root: str, tree: OrgTree) -> Outcome:
    access.require(request.me, Role.CADRE, root, tree)
    year = _year(request)
    regs = [r for r in await request.deps.dvk.registrations(year) if in_scope(tree, r.unit, root)]
    children = tree.children.get(root, ())
    lines = [f"<b>Đăng ký mô hình “Dân vận khéo” năm {year}</b>", esc(tree.path(root))]
    done = 0
    for child in children:
        count = sum(1 for r in regs if tree.within(r.unit, child))
        done += count > 0
        lines.append(f"{'✓' if count else '•'} {esc(tree.units[child].name)}: "
                     + (f"{count} đăng ký" if count else "chưa đăng ký"))
    if children:
        lines.insert(2, f"Đã đăng ký: <b>{done}/{len(children)}</b> đơn vị trực thuộc; "
                        f"tổng cộng {len(regs)} mô hình, điển hình.")
    own = [r for r in regs if r.unit == root]
    lines.append(f"Trực tiếp {esc(tree.units[root].name)}: {len(own)} đăng ký.")
    buttons = [Button("Đăng ký mô hình mới", act("reg.n", root))]
    buttons += [Button(short(f"{r.name} ({tree.units[r.unit].name})"),
                       act("reg.v", str(year), r.id)) for r in regs[-SHOWN:]]
    return Outcome([Reply("\n".join(lines), buttons=rows(*buttons, BACK))])


def _ask(dialog: Dialog, request: Request) -> Outcome:
    """The next missing item, or the summary to confirm."""
    missing = [key for key in ORDER if key not in dialog.data]
    if not missing:
        lines = ["<b>Xem lại đăng ký</b>", *_lines(dialog.data)]
        return Outcome([Reply("\n".join(lines), buttons=rows(
            Button("✓ Lưu đăng ký", act("reg.ok")), CANCEL))], dialog=dialog.at("reg.w"))
    key = missing[0]
    head = f"<b>Đăng ký — bước {ORDER.index(key) + 1}/{len(ORDER)}</b>\n"
    if key == "kind":
        buttons = [Button(label, act("reg.p", "kind", value)) for value, label in KINDS.items()]
        return Outcome([Reply(head + "Đăng ký một mô hình (cách làm của tập thể) hay một điển "
                              "hình (cá nhân, tập thể tiêu biểu)?",
                              buttons=rows(*buttons, CANCEL))], dialog=dialog.at("reg.w"))
    if key == "area":
        buttons = [Button(f.name, act("reg.p", "area", f.id))
                   for f in request.deps.dvk.config.fields]
        return Outcome([Reply(head + "Lĩnh vực:", buttons=rows(*buttons, CANCEL))],
                       dialog=dialog.at("reg.w"))
    return Outcome([Reply(head + TEXTS[key][1], buttons=rows(CANCEL))],
                   dialog=dialog.at("reg.t", key=key))


def _lines(data: dict[str, object]) -> list[str]:
    return [f"<b>Loại:</b> {KINDS.get(str(data.get('kind')), '—')}",
            f"<b>Tên:</b> {esc(data.get('name', ''))}",
            f"<b>Lĩnh vực:</b> {esc(data.get('area_name', ''))}",
            f"<b>Mục tiêu:</b> {esc(data.get('goal', ''))}",
            f"<b>Chủ thể thực hiện:</b> {esc(data.get('executor', ''))}",
            f"<b>Thời gian:</b> {esc(data.get('timeline', ''))}"]


async def _card(request: Request, item: Registration, lead: str = "") -> Outcome:
    tree = await request.tree()
    unit = tree.units[item.unit].name if item.unit in tree.units else item.unit
    lines = [lead] if lead else []
    lines += [f"<b>Đăng ký năm {item.year}</b> — {esc(unit)}", *_lines(item.model_dump()),
              f"<b>Tình trạng:</b> {'đã xây dựng' if item.built else 'đang xây dựng'}"]
    buttons: list[Button] = []
    if item.unit in tree.ancestors(request.me.unit):
        buttons.append(Button("Đề xuất công nhận", act("reg.dx", str(item.year), item.id)))
    if not item.built and access.can(request.me, Role.CADRE, item.unit, tree):
        buttons.append(Button("Đánh dấu đã xây dựng", act("reg.b", str(item.year), item.id)))
    return Outcome([Reply("\n".join(lines), buttons=rows(*buttons, BACK))])


async def _registration(request: Request) -> Registration:
    year, reg_id = number(request, 0), arg(request, 1)
    item = await request.deps.dvk.registration(year, reg_id[:20])
    tree = await request.tree()
    if item is None or not (access.can(request.me, Role.CADRE, item.unit, tree)
                            or item.unit in tree.ancestors(request.me.unit)):
        raise access.Forbidden("Không tìm thấy đăng ký này trong phạm vi của đồng chí.")
    return item


def _dialog(request: Request) -> Dialog:
    if request.dialog is None or request.dialog.flow != FLOW:
        raise access.Forbidden("Không có đăng ký nào đang soạn. Gõ /dangky để bắt đầu.")
    return request.dialog


def _year(request: Request) -> int:
    return request.now().astimezone(VIETNAM).year


def register(router: Router) -> None:
    """Register /dangky, its buttons and steps."""
    router.command("dangky", overview, description="Đăng ký mô hình Dân vận khéo (cán bộ)",
                   visible=cadre)
    router.action("reg", overview)
    router.action("reg.o", for_root)
    router.action("reg.n", new)
    router.action("reg.u", for_unit)
    router.action("reg.p", pick)
    router.action("reg.ok", save)
    router.action("reg.v", view)
    router.action("reg.b", mark_built)
    router.action("reg.dx", propose)
    router.step("reg.t", typed)
    router.step("reg.w", form.waiting, text=False)
    router.menu_item("Đăng ký mô hình Dân vận khéo", act("reg"), order=66, visible=cadre)


def cadre(member: Member) -> bool:
    """Cadres (and admins) register models and read the report."""
    return access.has_any(member, Role.CADRE)
