"""Onboarding: `/start <code>` (or a deep link, or the bare code) → full name → unit → menu."""

from __future__ import annotations

import re

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, fold
from bot.org.guesses import CodeGuesses, wait_text
from bot.org.invites import InviteCheck, InviteStatus, normalize_code
from bot.org.models import Grant, Role
from handlers.account.cancel import CANCEL
from handlers.account.menu import main_menu

FLOW = "start"
NAME_MAX = 80
_NAME_CHARS = re.compile(r"^[^\W\d_]+(?:[ .'\-][^\W\d_]+)*\.?$")

WELCOME = (
    "Kính chào đồng chí! Đây là bot phục vụ <b>công tác dân vận</b> của tổ chức đảng.\n\n"
    "Để đăng ký, xin đồng chí gửi <b>mã mời</b> (10 ký tự) do cán bộ chi bộ cấp, "
    "hoặc mở đường dẫn mời. Nếu chưa có mã, đồng chí liên hệ đồng chí bí thư chi bộ."
)
STATUS_TEXT = {
    InviteStatus.MISSING: "Mã mời không đúng. Đồng chí kiểm tra lại từng ký tự, "
                          "hoặc xin cán bộ chi bộ gửi lại mã.",
    InviteStatus.EXPIRED: "Mã mời này đã hết hạn. Đồng chí xin cán bộ chi bộ cấp mã mới.",
    InviteStatus.USED_UP: "Mã mời này đã được dùng hết số lượt. "
                          "Đồng chí xin cán bộ chi bộ cấp mã mới.",
    InviteStatus.REVOKED: "Mã mời này đã bị thu hồi. Đồng chí xin cán bộ chi bộ cấp mã mới.",
}
ASK_NAME = (
    "Mã mời hợp lệ: đồng chí sẽ tham gia <b>{unit}</b>.\n\n"
    "Xin đồng chí cho biết <b>họ và tên đầy đủ</b> (ví dụ: Nguyễn Văn An)."
)


async def start(request: Request) -> Outcome:
    """`/start [code]`: welcome, or go straight to the invite when a code came with it."""
    if request.args:
        return await with_code(request, request.args[0])
    if request.member is not None:
        return Outcome([await main_menu(request, lead="Chào mừng đồng chí trở lại!")])
    return Outcome([Reply(WELCOME)], dialog=Dialog(flow=FLOW, step="start.code"))


async def code_step(request: Request) -> Outcome:
    """The person typed something after being asked for a code."""
    return await with_code(request, request.text)


async def with_code(request: Request, typed: str) -> Outcome:
    """Check a code and either ask for the name or explain why it cannot be used."""
    code = normalize_code(typed)
    if code is None:
        return Outcome([Reply("Mã mời gồm 10 ký tự (ví dụ: <code>K7QXM3PA9C</code>). "
                              "Xin đồng chí gửi lại mã.")],
                       dialog=Dialog(flow=FLOW, step="start.code"))
    guesses = CodeGuesses(request.deps.redis, request.deps.keys)
    incoming = request.incoming
    wait = await guesses.wait_seconds(incoming.channel, incoming.user_id)
    if wait:
        return Outcome([Reply(wait_text(wait))], dialog=Dialog(flow=FLOW, step="start.code"))
    check = await request.deps.invites.check(code, request.now())
    if check.status is InviteStatus.MISSING:
        await guesses.wrong(incoming.channel, incoming.user_id)
    if check.status is not InviteStatus.OK or check.invite is None:
        return Outcome([Reply(STATUS_TEXT[check.status])],
                       dialog=Dialog(flow=FLOW, step="start.code"))
    if request.member is not None:
        return await _existing_member(request, check)
    unit = (await request.tree()).get(check.invite.unit)
    unit_name = esc(unit.name if unit else check.invite.unit)
    return Outcome([Reply(ASK_NAME.format(unit=unit_name), buttons=rows(CANCEL))],
                   dialog=Dialog(flow=FLOW, step="start.name", data={"code": code}))


async def name_step(request: Request) -> Outcome:
    """Validate the full name and show it back to confirm (nothing is registered yet)."""
    assert request.dialog is not None
    name = " ".join(request.text.split())
    problem = name_problem(name)
    if problem:
        return Outcome([Reply(problem, buttons=rows(CANCEL))], dialog=request.dialog)
    dialog = request.dialog.at("start.ok", name=name)
    if hurried(name):  # shown back first; a well-written name goes straight in (/me changes it)
        return confirm_name(dialog, name, "start.yes", "start.fix")
    return await _register(request, dialog)


def hurried(name: str) -> bool:
    """A name with no capitals or no diacritics at all: probably typed in a hurry."""
    return name == name.lower() or fold(name) == name.lower()


def confirm_name(dialog: Dialog, name: str, yes: str, fix: str) -> Outcome:
    """"Họ và tên sẽ ghi là …": the name as it will be stored, with a nudge when it has no
    capitals or no diacritics (a name typed in a hurry), and Đúng / Sửa lại."""
    text = f"Họ và tên sẽ ghi là: <b>{esc(name)}</b>"
    if hurried(name):
        text += ("\nTên này chưa viết hoa hoặc chưa có dấu. Nếu cần, đồng chí bấm «Sửa lại» "
                 "và gõ lại, ví dụ: Nguyễn Văn Bình.")
    buttons = rows(Button("✓ Đúng", act(yes)), Button("Sửa lại", act(fix)), CANCEL)
    return Outcome([Reply(text, buttons=buttons)], dialog=dialog)


async def fix_name(request: Request) -> Outcome:
    """"Sửa lại": ask for the name again."""
    dialog = request.dialog
    if dialog is None or dialog.flow != FLOW or "code" not in dialog.data:
        return Outcome([Reply(WELCOME)])
    return Outcome([Reply("Xin đồng chí gõ lại họ và tên đầy đủ, có dấu.",
                          buttons=rows(CANCEL))], dialog=dialog.at("start.name"))


async def waiting_name(request: Request) -> Outcome:
    """Text typed at the confirmation: take it as a corrected name."""
    return await name_step(request)


async def name_confirmed(request: Request) -> Outcome:
    """"✓ Đúng": consume the invite, register, and open the menu."""
    dialog = request.dialog
    if dialog is None or dialog.flow != FLOW or "name" not in dialog.data:
        return Outcome([Reply(WELCOME)])
    return await _register(request, dialog)


async def _register(request: Request, dialog: Dialog) -> Outcome:
    """Consume the invite, register the member under the dialog's name, open the menu."""
    name = str(dialog.data["name"])
    code = str(dialog.data["code"])
    deps = request.deps
    status = await deps.invites.redeem(code, request.account, request.now())
    invite = await deps.invites.get(code)
    if status is not InviteStatus.OK or invite is None:
        return Outcome([Reply(STATUS_TEXT[status])], dialog=Dialog(flow=FLOW, step="start.code"))
    grants = [] if invite.role is Role.MEMBER else [Grant(role=invite.role, unit=invite.unit)]
    member = await deps.members.register(
        channel=request.incoming.channel, user_id=request.incoming.user_id, name=name,
        unit=invite.unit, grants=grants, now=request.now())
    await deps.audit.record(member.id, "join", unit=invite.unit, role=invite.role.value,
                            invite=code)
    tree = await request.tree()
    unit = tree.get(member.unit)
    where = f"{unit.kind.label}: {unit.name}" if unit else member.unit
    lead = f"Chào mừng đồng chí <b>{esc(member.name)}</b>!\nĐồng chí đã tham gia {esc(where)}."
    if invite.role is not Role.MEMBER:
        lead += f"\nVai trò được giao: {invite.role.label} ({esc(tree.path(invite.unit))})."
    registered = Request(request.incoming, deps, request.router, member, None)
    return Outcome([await main_menu(registered, lead=lead)])


async def _existing_member(request: Request, check: InviteCheck) -> Outcome:
    """A registered member opened an invite: grant its role if it adds one, else explain."""
    invite = check.invite
    assert invite is not None
    member = request.me
    grant = Grant(role=invite.role, unit=invite.unit)
    if invite.role is Role.MEMBER or grant in member.grants:
        return Outcome([await main_menu(request, lead="Đồng chí đã đăng ký rồi, "
                                                     "không cần dùng mã mời này.")])
    status = await request.deps.invites.redeem(invite.code, request.account, request.now())
    if status is not InviteStatus.OK:
        return Outcome([Reply(STATUS_TEXT[status])])
    member = await request.deps.members.add_grant(member.id, grant)
    await request.deps.audit.record(member.id, "grant_by_invite", unit=invite.unit,
                                    role=invite.role.value, invite=invite.code)
    path = (await request.tree()).path(invite.unit)
    updated = Request(request.incoming, request.deps, request.router, member, None)
    lead = f"Đồng chí được giao vai trò {invite.role.label} tại {esc(path)}."
    return Outcome([await main_menu(updated, lead=lead)])


def name_problem(name: str) -> str | None:
    """Why a typed name is not a plausible full name, or None if it is."""
    if len(name) > NAME_MAX:
        return f"Họ và tên dài quá {NAME_MAX} ký tự. Xin đồng chí nhập lại."
    if len(name.split()) < 2 or not _NAME_CHARS.match(name):
        return ("Xin đồng chí nhập đầy đủ họ và tên bằng chữ, ít nhất hai từ, không có chữ số "
                "(ví dụ: Nguyễn Văn An).")
    return None


def register(router: Router) -> None:
    """Register /start and the onboarding steps (public: the person is not a member yet)."""
    router.command("start", start, description="Bắt đầu, nhập mã mời", public=True)
    router.step("start.code", code_step, public=True)
    router.step("start.name", name_step, public=True)
    router.step("start.ok", waiting_name, public=True, text=False)  # "1" confirms
    router.action("start.yes", name_confirmed, public=True)
    router.action("start.fix", fix_name, public=True)
