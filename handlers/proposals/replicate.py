"""Nhân rộng: a cadre declares that their unit replicates a recognised model, and later records
the unit's own results. The gallery counts the units that replicate each model.

Every step re-checks the cadre's role over the unit in the payload (payloads can be forged) and
that the model is recognised.
"""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, nfc
from bot.org import access
from bot.org.models import Role
from bot.proposals.models import Proposal, State
from bot.proposals.year import Replica
from handlers.account.cancel import CANCEL
from handlers.account.menu import BACK
from handlers.proposals.ui import arg

NOT_CADRE = ("Việc đăng ký nhân rộng mô hình do đồng chí được phân công phụ trách đơn vị thực "
             "hiện.")
RESULTS = (10, 2000)


async def start(request: Request) -> Outcome:
    """"Đơn vị tôi nhân rộng mô hình này": the cadre's unit, or a choice among several."""
    model = await _model(request, arg(request, 0))
    tree = await request.tree()
    roots = [r for r in access.top_scopes(request.me, Role.CADRE, tree)
             if not tree.within(r, model.unit)]
    if not roots:
        raise access.Forbidden(NOT_CADRE)
    if len(roots) == 1:
        return await _declare(request, model, roots[0])
    buttons = [Button(tree.units[r].name, act("rep.u", model.code, r)) for r in roots[:8]]
    return Outcome([Reply(f"Đơn vị nào nhân rộng mô hình «{esc(model.name)}»?",
                          buttons=rows(*buttons, CANCEL))])


async def for_unit(request: Request) -> Outcome:
    """A unit chosen among the cadre's scopes."""
    model = await _model(request, arg(request, 0))
    return await _declare(request, model, arg(request, 1))


async def ask_results(request: Request) -> Outcome:
    """"Cập nhật kết quả nhân rộng": ask for the unit's own results."""
    model, unit = await _model(request, arg(request, 0)), arg(request, 1)
    access.require(request.me, Role.CADRE, unit, await request.tree())
    text = (f"Kết quả nhân rộng mô hình «{esc(model.name)}» ở đơn vị của đồng chí "
            f"({RESULTS[0]}–{RESULTS[1]} ký tự, có số liệu cụ thể nếu có):")
    return Outcome([Reply(text, buttons=rows(CANCEL))],
                   dialog=Dialog(flow="rep", step="rep.t", data={"code": model.code,
                                                                "unit": unit}))


async def results(request: Request) -> Outcome:
    """The results typed: stored on the unit's declaration."""
    dialog = request.dialog
    if dialog is None or dialog.flow != "rep":
        raise access.Forbidden("Không có kết quả nhân rộng nào đang nhập.")
    code, unit = str(dialog.data.get("code", "")), str(dialog.data.get("unit", ""))
    model = await _model(request, code)
    access.require(request.me, Role.CADRE, unit, await request.tree())
    value = nfc(request.text).strip()
    low, high = RESULTS
    if not low <= len(value) <= high:
        return Outcome([Reply(f"Kết quả cần từ {low} đến {high} ký tự (vừa nhập {len(value)}). "
                              "Xin đồng chí nhập lại.", buttons=rows(CANCEL))], dialog=dialog)
    mine = {r.unit: r for r in await request.deps.dvk.replicas(code)}
    if unit not in mine:
        raise access.Forbidden("Đơn vị chưa đăng ký nhân rộng mô hình này.")
    await request.deps.dvk.update_replica(code, mine[unit].model_copy(update={"results": value}))
    await request.deps.audit.record(request.me.id, "dvk_replica_results", code=code, unit=unit)
    return Outcome([Reply(f"Đã ghi nhận kết quả nhân rộng mô hình «{esc(model.name)}».",
                          buttons=rows(Button("« Về mô hình", act("gal.v", code)), BACK))])


async def _declare(request: Request, model: Proposal, unit: str) -> Outcome:
    tree = await request.tree()
    access.require(request.me, Role.CADRE, unit, tree)
    if tree.within(unit, model.unit):
        raise access.Forbidden("Đơn vị này chính là đơn vị xây dựng mô hình.")
    replica = Replica(unit=unit, by=request.me.id, by_name=request.me.name, at=request.now())
    added = await request.deps.dvk.replicate(model.code, replica)
    if added:
        await request.deps.audit.record(request.me.id, "dvk_replicate", code=model.code,
                                        unit=unit)
    lead = "Đã ghi nhận" if added else "Đơn vị đã đăng ký trước đây"
    text = (f"{lead}: <b>{esc(tree.units[unit].name)}</b> nhân rộng mô hình "
            f"«{esc(model.name)}». Khi có kết quả, đồng chí bấm «Cập nhật kết quả nhân rộng».")
    buttons = [Button("Cập nhật kết quả nhân rộng", act("rep.r", model.code, unit)),
               Button("« Về mô hình", act("gal.v", model.code)), BACK]
    return Outcome([Reply(text, buttons=rows(*buttons))])


async def _model(request: Request, code: str) -> Proposal:
    p = await request.deps.proposals.store.get(code)
    if p is None or p.state is not State.RECOGNISED:
        raise access.Forbidden("Mô hình này không có trong thư viện mô hình được công nhận.")
    return p


def register(router: Router) -> None:
    """Register the nhân rộng buttons and the results step."""
    router.action("rep", start)
    router.action("rep.u", for_unit)
    router.action("rep.r", ask_results)
    router.step("rep.t", results)
