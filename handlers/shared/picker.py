"""A unit picker over the actor's own scope: go down the tree page by page, pick one unit.

Shared by flows that target a unit subtree (invites, broadcasts). Every route re-checks the
scope on the server: the unit id in a button payload may be forged.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.actions import act
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request
from bot.formatting import esc
from bot.org import access
from bot.org.models import Role
from bot.org.tree import OrgTree
from handlers.account.menu import BACK

PAGE = 8


@dataclass(frozen=True)
class Picker:
    """Routes and wording of one flow's picker. `browse` takes (unit, page); `choose` (unit)."""

    title: str
    browse: str
    choose: str
    extra: tuple[Button, ...] = ()  # buttons shown under the units (e.g. a list of past work)
    keep_dialog: bool = False  # the flow's draft lives in the dialog: keep it while picking

    async def start(self, request: Request, refusal: str) -> Outcome:
        """The actor's scope roots; straight into the only one when there is just one."""
        tree = await request.tree()
        roots = access.top_scopes(request.me, Role.CADRE, tree)
        if not roots:
            raise access.Forbidden(refusal)
        if len(roots) == 1:
            return self.show(request, tree, roots[0], 0)
        buttons = [Button(f"› {tree.units[r].name}", act(self.browse, r, "0")) for r in roots]
        return self.say(request, f"<b>{self.title}</b>\nChọn đơn vị:",
                        [*buttons, *self.extra, BACK])

    async def on_browse(self, request: Request) -> Outcome:
        """Show another unit of the tree (route `browse`)."""
        unit_id, page = arg(request, 0), _page(arg(request, 1))
        tree = await request.tree()
        access.require(request.me, Role.CADRE, unit_id, tree)
        return self.show(request, tree, unit_id, page)

    def show(self, request: Request, tree: OrgTree, unit_id: str, page: int) -> Outcome:
        """One unit with its children, so the actor can pick it or go further down."""
        unit = tree.units[unit_id]
        children = tree.children.get(unit_id, ())
        shown = children[page * PAGE:(page + 1) * PAGE]
        buttons = [Button(f"✓ Chọn {unit.name}", act(self.choose, unit_id))]
        buttons += [Button(f"› {tree.units[c].name}", act(self.browse, c, "0")) for c in shown]
        if page > 0:
            buttons.append(Button("‹ Trang trước", act(self.browse, unit_id, str(page - 1))))
        if (page + 1) * PAGE < len(children):
            buttons.append(Button("Trang sau ›", act(self.browse, unit_id, str(page + 1))))
        if unit.parent and access.can(request.me, Role.CADRE, unit.parent, tree):
            buttons.append(Button("« Lên cấp trên", act(self.browse, unit.parent, "0")))
        text = (f"<b>{self.title}</b>\nĐơn vị: {esc(tree.path(unit_id))}\n"
                "Chọn đơn vị này, hoặc chọn một đơn vị trực thuộc:")
        return self.say(request, text, [*buttons, *self.extra, BACK])

    def say(self, request: Request, text: str, buttons: list[Button]) -> Outcome:
        """A reply that replaces the pressed message (on channels that can)."""
        edit = request.incoming.action is not None
        dialog = request.dialog if self.keep_dialog else None
        return Outcome([Reply(text, buttons=rows(*buttons), edit=edit)], dialog=dialog)


def arg(request: Request, index: int) -> str:
    """A button argument, or Forbidden if the payload lacks it."""
    if index >= len(request.args):
        raise access.Forbidden("Nút bấm thiếu thông tin. Đồng chí gõ /menu để bắt đầu lại.")
    return request.args[index]


def _page(raw: str) -> int:
    return int(raw) if raw.isdigit() and len(raw) < 4 else 0
