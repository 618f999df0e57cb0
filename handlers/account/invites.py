"""Cadres create invite codes for units inside their own scope, from the chat.

Every step re-checks the actor's scope on the server: the unit id in a button payload comes
back from the client and may be forged.
"""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, vn_datetime
from bot.org import access
from bot.org.models import Role
from bot.org.tree import OrgTree
from handlers.account.menu import BACK
from handlers.shared.picker import Picker
from handlers.shared.picker import arg as _arg

USES = ("1", "10", "50", "200")
LIST_MAX = 10
LIST = Button("Mã mời đã tạo", act("inv.ls"))
PICKER = Picker("Tạo mã mời", browse="inv.u", choose="inv.r", extra=(LIST,))


async def begin(request: Request) -> Outcome:
    """Entry from the menu: start at the cadre's own scope."""
    return await PICKER.start(request,
                              "Chức năng này dành cho đồng chí được phân công phụ trách đơn vị.")


async def list_active(request: Request) -> Outcome:
    """Invites still usable in the cadre's scope, each with a revoke button."""
    tree = await request.tree()
    now = request.now()
    active = [i for i in await request.deps.invites.list()
              if not i.revoked and i.expires_at > now and i.uses < i.max_uses
              and access.can(request.me, Role.CADRE, i.unit, tree)][:LIST_MAX]
    if not active:
        return _say(request, "Không có mã mời nào còn hiệu lực trong phạm vi của đồng chí.",
                    [Button("Tạo mã mời", act("inv")), BACK])
    lines = [f"<code>{i.code}</code> — {esc(tree.units[i.unit].name)}, {i.role.label}, "
             f"đã dùng {i.uses}/{i.max_uses}, hết hạn {vn_datetime(i.expires_at)}"
             for i in active]
    buttons = [Button(f"Thu hồi {i.code}", act("inv.rv", i.code)) for i in active]
    text = "<b>Mã mời còn hiệu lực</b>\n" + "\n".join(lines)
    return _say(request, text, [*buttons, BACK])


async def ask_revoke(request: Request) -> Outcome:
    """"Thu hồi …": say what revoking means and ask to confirm (one press must not do it)."""
    code = _arg(request, 0)
    invite = await request.deps.invites.get(code)
    if invite is None:
        raise access.Forbidden("Không tìm thấy mã mời này.")
    tree = await request.tree()
    access.require(request.me, Role.CADRE, invite.unit, tree)
    text = (f"Thu hồi mã mời <code>{code}</code> ({esc(tree.units[invite.unit].name)}, "
            f"{invite.role.label}, đã dùng {invite.uses}/{invite.max_uses})? Người chưa dùng mã "
            "này sẽ không đăng ký được nữa; không thể hoàn tác.")
    return _say(request, text, [Button("✓ Thu hồi mã này", act("inv.rv2", code)),
                                Button("Không, giữ lại", act("inv.ls"))])


async def revoke(request: Request) -> Outcome:
    """Revoke a code (confirmed), if it belongs to a unit inside the cadre's scope."""
    code = _arg(request, 0)
    invite = await request.deps.invites.get(code)
    if invite is None:
        raise access.Forbidden("Không tìm thấy mã mời này.")
    access.require(request.me, Role.CADRE, invite.unit, await request.tree())
    await request.deps.invites.revoke(code)
    await request.deps.audit.record(request.me.id, "invite_revoke", code=code, unit=invite.unit)
    return Outcome([Reply(f"Đã thu hồi mã mời <code>{code}</code>. Người chưa dùng mã này "
                          "sẽ không đăng ký được nữa.", buttons=rows(LIST, BACK))])


async def pick_role(request: Request) -> Outcome:
    """Choose the role the invite gives (cadres: members only; admins: any role)."""
    unit_id = _arg(request, 0)
    tree = await request.tree()
    access.require(request.me, Role.CADRE, unit_id, tree)
    roles = access.grantable_roles(request.me, unit_id, tree)
    if roles == [Role.MEMBER]:
        return _uses(request, tree, unit_id, Role.MEMBER)
    buttons = [Button(role.label, act("inv.n", unit_id, role.value)) for role in roles]
    text = f"<b>Tạo mã mời</b> — {esc(tree.units[unit_id].name)}\nMã mời này giao vai trò gì?"
    return _say(request, text, [*buttons, BACK])


async def pick_uses(request: Request) -> Outcome:
    """Choose how many people may use the code."""
    unit_id, role = _arg(request, 0), _role(_arg(request, 1))
    tree = await request.tree()
    _require_grantable(request, tree, unit_id, role)
    return _uses(request, tree, unit_id, role)


async def create(request: Request) -> Outcome:
    """Create the invite after checking scope, role and use count once more."""
    unit_id, role, uses = _arg(request, 0), _role(_arg(request, 1)), _arg(request, 2)
    tree = await request.tree()
    _require_grantable(request, tree, unit_id, role)
    if uses not in USES:
        raise access.Forbidden("Số lượt dùng không hợp lệ.")
    deps = request.deps
    invite = await deps.invites.create(unit=unit_id, role=role, created_by=request.me.id,
                                       max_uses=int(uses), days=deps.settings.invite_days,
                                       now=request.now())
    await deps.audit.record(request.me.id, "invite_create", code=invite.code, unit=unit_id,
                            role=role.value, uses=uses)
    link = deps.links.invite(invite.code)
    text = (
        "<b>Đã tạo mã mời</b>\n"
        f"Đơn vị: {esc(tree.path(unit_id))}\nVai trò: {role.label}\n"
        f"Số lượt dùng: {uses}\nHết hạn: {vn_datetime(invite.expires_at)}\n\n"
        f"Mã mời: <code>{invite.code}</code>\n"
        + (f"Đường dẫn: {link}\n" if link else "")
        + "\nĐồng chí gửi mã (hoặc đường dẫn) riêng cho người được mời; "
          "không đăng công khai."
    )
    return Outcome([Reply(text, buttons=rows(LIST, BACK))])


def _uses(request: Request, tree: OrgTree, unit_id: str, role: Role) -> Outcome:
    buttons = [Button(f"{n} người", act("inv.mk", unit_id, role.value, n)) for n in USES]
    text = (f"<b>Tạo mã mời</b> — {esc(tree.units[unit_id].name)}, vai trò {role.label}\n"
            "Mã mời dùng được cho bao nhiêu người?")
    return _say(request, text, [*buttons, BACK])


def _say(request: Request, text: str, buttons: list[Button]) -> Outcome:
    return PICKER.say(request, text, buttons)


def _require_grantable(request: Request, tree: OrgTree, unit_id: str, role: Role) -> None:
    access.require(request.me, Role.CADRE, unit_id, tree)
    if role not in access.grantable_roles(request.me, unit_id, tree):
        raise access.Forbidden("Đồng chí không có quyền cấp vai trò này.")


def _role(raw: str) -> Role:
    try:
        return Role(raw)
    except ValueError:
        raise access.Forbidden("Vai trò không hợp lệ.") from None


def register(router: Router) -> None:
    """Register the invite buttons and the menu item (cadres and admins only)."""
    router.action("inv", begin)
    router.action("inv.u", PICKER.on_browse)
    router.action("inv.r", pick_role)
    router.action("inv.n", pick_uses)
    router.action("inv.mk", create)
    router.action("inv.ls", list_active)
    router.action("inv.rv", ask_revoke)
    router.action("inv.rv2", revoke)
    router.menu_item("Tạo mã mời", act("inv"), order=80,
                     visible=lambda m: access.has_any(m, Role.CADRE))
