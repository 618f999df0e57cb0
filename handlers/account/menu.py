"""Main menu: `/menu`, the "menu" keyword and the "Về menu chính" button."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc

MENU = act("menu")
BACK = Button("« Về menu chính", MENU)


async def main_menu(request: Request, *, lead: str = "", edit: bool = False) -> Reply:
    """The member's main menu, with only the items their roles allow."""
    member = request.me
    unit = (await request.tree()).get(member.unit)
    unit_name = unit.name if unit else member.unit
    header = f"<b>Menu chính</b>\nĐồng chí {esc(member.name)} — {esc(unit_name)}"
    text = f"{lead}\n\n{header}" if lead else header
    buttons = rows(*request.router.menu_for(member), width=1)
    return Reply(f"{text}\nXin đồng chí chọn chức năng:", buttons=buttons, edit=edit)


async def show_menu(request: Request) -> Outcome:
    """Show the main menu; a button press replaces the message it was on."""
    edit = request.incoming.action is not None
    return Outcome([await main_menu(request, edit=edit)])


def register(router: Router) -> None:
    """Register /menu and the menu button."""
    router.command("menu", show_menu, description="Mở menu chính", keywords=("menu",))
    router.action("menu", show_menu)
