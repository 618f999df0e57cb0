"""Onboarding: invite code → full name → unit → menu; every bad code explained politely."""

from __future__ import annotations

import pytest

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Role
from tests.conftest import Clock, make_member
from tests.handlers.chat import Chat


async def _invite(deps: Deps, clock: Clock, *, unit: str = "cb-a1", role: Role = Role.MEMBER,
                  uses: int = 1, days: int = 7) -> str:
    invite = await deps.invites.create(unit=unit, role=role, created_by="t", max_uses=uses,
                                       days=days, now=clock())
    return invite.code


async def test_invite_name_menu(dispatcher: Dispatcher, deps: Deps, clock: Clock) -> None:
    code = await _invite(deps, clock)
    chat = Chat(dispatcher, "100")
    await chat.say(f"/start {code}")
    assert "Chi bộ A1" in chat.text and "họ và tên" in chat.text
    assert chat.labels() == ["Hủy"]
    await chat.say("  nguyễn   Văn  An ")
    assert "Chào mừng đồng chí nguyễn Văn An" in chat.text
    assert "Chi bộ trực thuộc: Chi bộ A1" in chat.text
    assert "Thông tin của tôi" in chat.labels()
    member = await deps.members.by_account("telegram", "100")
    assert member is not None and member.unit == "cb-a1" and member.grants == []
    await chat.say("/me")
    assert "Chi bộ A1" in chat.text and "nguyễn Văn An" in chat.text


async def test_decomposed_unicode_name_is_stored_composed(dispatcher: Dispatcher, deps: Deps,
                                                          clock: Clock) -> None:
    """Phones may send NFD text; the stored name must be NFC so search and display agree."""
    import unicodedata

    code = await _invite(deps, clock)
    chat = Chat(dispatcher, "101")
    await chat.say(f"/start {code}")
    await chat.say(unicodedata.normalize("NFD", "Trần Thị Hoà"))
    member = await deps.members.by_account("telegram", "101")
    assert member is not None and member.name == unicodedata.normalize("NFC", "Trần Thị Hoà")


async def test_bare_code_without_start_works(dispatcher: Dispatcher, deps: Deps,
                                             clock: Clock) -> None:
    code = await _invite(deps, clock)
    chat = Chat(dispatcher, "102")
    await chat.say(code.lower()[:5] + "-" + code.lower()[5:])
    assert "họ và tên" in chat.text


async def test_cadre_invite_grants_the_role(dispatcher: Dispatcher, deps: Deps,
                                            clock: Clock) -> None:
    code = await _invite(deps, clock, unit="dbcs-a", role=Role.CADRE)
    chat = Chat(dispatcher, "103")
    await chat.say(f"/start {code}")
    await chat.say("Lê Thị Bình")
    assert "Vai trò được giao: Cán bộ" in chat.text
    assert "Tạo mã mời" in chat.labels()


async def test_existing_member_gets_role_from_invite(dispatcher: Dispatcher, deps: Deps,
                                                     clock: Clock) -> None:
    await make_member(deps, channel="telegram", user_id="104", unit="cb-a1")
    chat = Chat(dispatcher, "104")
    await chat.say(f"/start {await _invite(deps, clock)}")
    assert "đã đăng ký rồi" in chat.text
    await chat.say(f"/start {await _invite(deps, clock, unit='cb-a1', role=Role.REVIEWER)}")
    assert "Người thẩm định" in chat.text
    member = await deps.members.by_account("telegram", "104")
    assert member is not None and [g.role for g in member.grants] == [Role.REVIEWER]


@pytest.mark.parametrize(("setup", "expected"), [
    ("missing", "Mã mời không đúng"),
    ("expired", "đã hết hạn"),
    ("used", "đã được dùng hết"),
    ("revoked", "đã bị thu hồi"),
    ("garbage", "gồm 10 ký tự"),
])
async def test_bad_codes_are_explained(dispatcher: Dispatcher, deps: Deps, clock: Clock,
                                       setup: str, expected: str) -> None:
    code = await _invite(deps, clock, days=1)
    if setup == "missing":
        code = "ABCDEFGHJK"
    elif setup == "expired":
        clock.advance(days=2)
    elif setup == "used":
        await deps.invites.redeem(code, "telegram:other", clock())
    elif setup == "revoked":
        await deps.invites.revoke(code)
    elif setup == "garbage":
        code = "xyz"
    chat = Chat(dispatcher, "105")
    await chat.say(f"/start {code}")
    assert expected in chat.text
    assert await deps.members.by_account("telegram", "105") is None


async def test_invite_used_up_while_typing_the_name(dispatcher: Dispatcher, deps: Deps,
                                                    clock: Clock) -> None:
    code = await _invite(deps, clock)
    first, second = Chat(dispatcher, "106"), Chat(dispatcher, "107")
    await first.say(f"/start {code}")
    await second.say(f"/start {code}")
    await first.say("Nguyễn Văn Một")
    await second.say("Nguyễn Văn Hai")
    assert "Chào mừng" in first.text
    assert "đã được dùng hết" in second.text
    assert await deps.members.by_account("telegram", "107") is None


@pytest.mark.parametrize("name", ["123", "An", "Nguyễn Văn 3", "x" * 30 + " " + "y" * 60,
                                  "<b>Nguyễn</b> An"])
async def test_implausible_names_are_asked_again(dispatcher: Dispatcher, deps: Deps,
                                                 clock: Clock, name: str) -> None:
    chat = Chat(dispatcher, "108")
    await chat.say(f"/start {await _invite(deps, clock)}")
    await chat.say(name)
    assert "họ và tên" in chat.text.lower()
    assert await deps.members.by_account("telegram", "108") is None
    await chat.say("Phạm Văn Đồng")  # the dialog is still there: a good name now works
    assert "Chào mừng" in chat.text


async def test_unregistered_person_is_told_how_to_join(dispatcher: Dispatcher) -> None:
    chat = Chat(dispatcher, "109")
    await chat.say("xin chào")
    assert "mã mời" in chat.text
    await chat.say("/me")
    assert "chưa đăng ký" in chat.text
    await chat.say("/start")
    assert "mã mời" in chat.text


async def test_cancel_leaves_onboarding(dispatcher: Dispatcher, deps: Deps,
                                        clock: Clock) -> None:
    chat = Chat(dispatcher, "110")
    await chat.say(f"/start {await _invite(deps, clock)}")
    await chat.press("Hủy")
    assert "Đã hủy" in chat.text
    assert await deps.conversations.dialog("telegram", "110") is None
