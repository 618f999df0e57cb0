"""Cadres create invites from the chat, only inside their scope; admins may grant roles."""

from __future__ import annotations

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org.invites import InviteStatus
from bot.org.models import Role
from tests.conftest import make_member
from tests.handlers.chat import Chat


async def test_cadre_creates_a_member_invite_below_their_unit(dispatcher: Dispatcher,
                                                              deps: Deps) -> None:
    await make_member(deps, user_id="c", unit="cb-a1", grants=((Role.CADRE, "dbcs-a"),))
    chat = Chat(dispatcher, "c")
    await chat.say("/menu")
    await chat.press("Tạo mã mời")
    assert "Đảng bộ cơ sở A" in chat.text
    assert "Đảng bộ cơ sở B" not in chat.text
    assert not any("Lên cấp trên" in label for label in chat.labels())  # khoi is out of scope
    await chat.press("Chi bộ A2")
    await chat.press("Chọn Chi bộ A2")
    assert "Cán bộ" not in chat.labels()  # cadres only invite members: straight to uses
    await chat.press("10 người")
    assert "Đã tạo mã mời" in chat.text
    assert "https://t.me/dvbot_test_bot?start=" in chat.text
    [invite] = await deps.invites.list()
    assert (invite.unit, invite.role, invite.max_uses) == ("cb-a2", Role.MEMBER, 10)
    assert invite.created_by == (await deps.members.by_account("telegram", "c")).id  # type: ignore[union-attr]
    # The code works for a new person.
    status = await deps.invites.redeem(invite.code, "telegram:new", deps.clock())
    assert status is InviteStatus.OK
    audit = await deps.audit.recent()
    assert audit[0]["action"] == "invite_create" and audit[0]["unit"] == "cb-a2"


async def test_cadre_cannot_reach_outside_scope_with_forged_buttons(dispatcher: Dispatcher,
                                                                    deps: Deps) -> None:
    await make_member(deps, user_id="c", unit="cb-a1", grants=((Role.CADRE, "dbcs-a"),))
    chat = Chat(dispatcher, "c")
    for payload in ("inv.mk|cb-b1|member|1", "inv.u|khoi|0", "inv.r|dbcs-b",
                    "inv.mk|cb-a2|admin|1", "inv.mk|cb-a2|cadre|1", "inv.n|cb-a2|cadre",
                    "inv.mk|cb-a2|member|999999", "inv.mk|cb-a2|boss|1"):
        await chat.press_raw(payload)
        assert ("không" in chat.text and "quyền" in chat.text) or "không hợp lệ" in chat.text, \
            payload
    assert await deps.invites.list() == []


async def test_plain_member_has_no_invite_menu_and_is_refused(dispatcher: Dispatcher,
                                                             deps: Deps) -> None:
    await make_member(deps, user_id="m", unit="cb-a1")
    chat = Chat(dispatcher, "m")
    await chat.say("/menu")
    assert "Tạo mã mời" not in chat.labels()
    await chat.press_raw("inv")
    assert "được phân công phụ trách đơn vị" in chat.text
    await chat.press_raw("inv.mk|cb-a1|member|1")
    assert "không có quyền" in chat.text
    assert await deps.invites.list() == []


async def test_admin_can_invite_a_cadre(dispatcher: Dispatcher, deps: Deps) -> None:
    await make_member(deps, user_id="a", unit="khoi", grants=((Role.ADMIN, "khoi"),))
    chat = Chat(dispatcher, "a")
    await chat.say("/menu")
    await chat.press("Tạo mã mời")
    await chat.press("Đảng bộ cơ sở B")
    await chat.press("Chọn Đảng bộ cơ sở B")
    assert chat.labels()[:5] == ["Đảng viên", "Cán bộ phụ trách", "Người thẩm định",
                                 "Người tiếp nhận tâm tư", "Quản trị"]
    await chat.press("Cán bộ")
    await chat.press("1 người")
    [invite] = await deps.invites.list()
    assert (invite.unit, invite.role) == ("dbcs-b", Role.CADRE)


async def test_unit_picker_pages_through_many_children(dispatcher: Dispatcher,
                                                       deps: Deps) -> None:
    from bot.org.models import Unit

    await deps.units.import_units([Unit(id=f"cb-x{i:02d}", name=f"Chi bộ X{i:02d}",
                                        kind="chi_bo", parent="dbcs-b") for i in range(20)])
    await make_member(deps, user_id="c", unit="cb-b1", grants=((Role.CADRE, "dbcs-b"),))
    chat = Chat(dispatcher, "c")
    await chat.press_raw("inv")
    assert "Chi bộ B1" in chat.labels()[1] and "Trang sau ›" in chat.labels()
    await chat.press("Trang sau")
    await chat.press("Trang sau")
    assert any("Chi bộ X19" in label for label in chat.labels())
    assert "Trang sau ›" not in chat.labels()
    assert chat.replies[0].edit  # navigation edits the message in place on Telegram


async def test_cadre_lists_and_revokes_only_invites_in_scope(dispatcher: Dispatcher,
                                                             deps: Deps) -> None:
    mine = await deps.invites.create(unit="cb-a2", role=Role.MEMBER, created_by="x",
                                     max_uses=5, days=3, now=deps.clock())
    other = await deps.invites.create(unit="cb-b1", role=Role.MEMBER, created_by="x",
                                      max_uses=5, days=3, now=deps.clock())
    await make_member(deps, user_id="c", unit="cb-a1", grants=((Role.CADRE, "dbcs-a"),))
    chat = Chat(dispatcher, "c")
    await chat.press_raw("inv.ls")
    assert mine.code in chat.text and other.code not in chat.text
    await chat.press(f"Thu hồi {mine.code}")  # one press only asks
    assert "không thể hoàn tác" in chat.text
    assert (await deps.invites.check(mine.code, deps.clock())).status is InviteStatus.OK
    await chat.press("Không, giữ lại")
    assert mine.code in chat.text
    assert (await deps.invites.check(mine.code, deps.clock())).status is InviteStatus.OK
    await chat.press(f"Thu hồi {mine.code}")
    await chat.press("✓ Thu hồi mã này")
    assert "Đã thu hồi" in chat.text
    assert (await deps.invites.check(mine.code, deps.clock())).status is InviteStatus.REVOKED
    for forged in (f"inv.rv|{other.code}", f"inv.rv2|{other.code}"):  # outside the scope
        await chat.press_raw(forged)
        assert "không có quyền" in chat.text
    assert (await deps.invites.check(other.code, deps.clock())).status is InviteStatus.OK
    await chat.press_raw("inv.ls")
    assert "Không có mã mời nào còn hiệu lực" in chat.text
