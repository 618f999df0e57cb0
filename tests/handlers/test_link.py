"""`/lienket`: a member registered on Telegram links a Zalo account with a one-time code;
expired, used, unknown codes and accounts that belong to someone else are refused."""

from __future__ import annotations

import re

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from tests.conftest import make_member
from tests.handlers.chat import Chat


async def code_of(chat: Chat) -> str:
    """Ask for a link code on the registered account."""
    await chat.say("/lienket")
    found = re.search(r"Mã liên kết của đồng chí: ([A-Z0-9]{8})", chat.text)
    assert found is not None, chat.text
    return found.group(1)


async def test_link_a_zalo_account_by_command_and_by_bare_code(deps: Deps,
                                                                dispatcher: Dispatcher) -> None:
    member = await make_member(deps, user_id="t1", unit="cb-a1", name="Lê Văn Liên")
    telegram = Chat(dispatcher, "t1")
    zalo = Chat(dispatcher, "z1", channel="zalo", buttons=False)
    await zalo.say(f"/lienket {await code_of(telegram)}")
    assert "Đã liên kết tài khoản Zalo" in zalo.text and "Lê Văn Liên" in zalo.text
    assert (await deps.members.by_account("zalo", "z1")) == await deps.members.get(member.id)
    stored = await deps.members.get(member.id)
    assert stored is not None and stored.identities == {"telegram": "t1", "zalo": "z1"}
    # The same member reaches the menu from both accounts.
    await zalo.say("/me")
    assert "Ứng dụng liên lạc: Telegram, Zalo" in zalo.text

    other = await make_member(deps, user_id="t2", unit="cb-b1")
    oa = Chat(dispatcher, "o2", channel="zalo_oa", buttons=False)
    code = await code_of(Chat(dispatcher, "t2"))
    await oa.say(code.lower())  # bare code, typed loosely
    assert "Đã liên kết tài khoản Zalo OA" in oa.text
    assert (await deps.members.by_account("zalo_oa", "o2")) is not None
    assert (await deps.members.by_account("zalo_oa", "o2")).id == other.id  # type: ignore[union-attr]


async def test_used_unknown_and_expired_codes(deps: Deps, dispatcher: Dispatcher) -> None:
    await make_member(deps, user_id="t1", unit="cb-a1")
    code = await code_of(Chat(dispatcher, "t1"))
    await Chat(dispatcher, "z1", channel="zalo", buttons=False).say(f"/lienket {code}")
    second = Chat(dispatcher, "z2", channel="zalo", buttons=False)
    await second.say(f"/lienket {code}")  # used
    assert "không đúng, đã hết hạn hoặc đã được dùng" in second.text
    await second.say("/lienket ABCD2345")  # unknown
    assert "không đúng, đã hết hạn hoặc đã được dùng" in second.text
    await second.say("/lienket 12")  # not a code at all
    assert "gồm 8 chữ cái" in second.text

    await make_member(deps, user_id="t3", unit="cb-a1")
    expiring = await code_of(Chat(dispatcher, "t3"))
    await deps.redis.delete(deps.keys.link_code(expiring))  # what the TTL does after 10 min
    assert 0 < await deps.redis.ttl(deps.keys.link_code(await code_of(Chat(dispatcher, "t3")))) \
        <= 600
    await second.say(f"/lienket {expiring}")
    assert "không đúng, đã hết hạn hoặc đã được dùng" in second.text
    assert await deps.members.by_account("zalo", "z2") is None


async def test_account_of_someone_else_is_refused_and_the_code_kept(
        deps: Deps, dispatcher: Dispatcher) -> None:
    await make_member(deps, user_id="t1", unit="cb-a1")
    await make_member(deps, channel="zalo", user_id="z9", unit="cb-b1", name="Người Khác")
    code = await code_of(Chat(dispatcher, "t1"))
    taken = Chat(dispatcher, "z9", channel="zalo", buttons=False)
    await taken.say(f"/lienket {code}")
    assert "đã đăng ký rồi" in taken.text
    assert await deps.redis.exists(deps.keys.link_code(code))  # still usable by its owner
    # A member who already has a Zalo account cannot add a second one.
    fresh = Chat(dispatcher, "z10", channel="zalo", buttons=False)
    await fresh.say(f"/lienket {code}")
    assert "Đã liên kết" in fresh.text
    again = Chat(dispatcher, "z11", channel="zalo", buttons=False)
    await again.say(f"/lienket {await code_of(Chat(dispatcher, 't1'))}")
    assert "đã có một tài khoản Zalo khác" in again.text
    assert await deps.members.by_account("zalo", "z11") is None


async def test_newcomer_without_code_is_asked_for_one(dispatcher: Dispatcher) -> None:
    zalo = Chat(dispatcher, "z1", channel="zalo", buttons=False)
    await zalo.say("/lienket")
    assert "lấy mã liên kết" in zalo.text
    await zalo.say("XYZ")
    assert "gồm 8 chữ cái" in zalo.text
    await zalo.say("0")  # a step that asks for text takes digits as text
    assert "gồm 8 chữ cái" in zalo.text
    await zalo.say("#1")  # its «Hủy» is listed as #1
    assert "Đã hủy" in zalo.text
