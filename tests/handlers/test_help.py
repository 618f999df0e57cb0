"""`/help` lists exactly the commands the member's roles can use, and /toi, /huongdan work.

Regression: `/help` omitted /khaosat, /dexuat, /mohinh, /lienket, /thamdinh, /tracuu and showed
/thongbao to members who cannot use it; /me and /help had no Vietnamese names.
"""

from __future__ import annotations

import logging
import re

import pytest

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Role
from handlers import build_router
from tests.conftest import make_member
from tests.handlers.chat import Chat

EVERYONE = {"menu", "vanban", "tailieu", "timkiem", "tiendo", "khaosat", "dexuat", "mohinh",
            "lienket", "me", "huy", "help", "tamtu", "chuadoc"}


def listed(chat: Chat) -> set[str]:
    return set(re.findall(r"^/(\w+)", chat.text, re.MULTILINE))


@pytest.mark.parametrize(("grants", "extra"), [
    ((), set()),
    (((Role.CADRE, "cb-a1"),), {"thongbao", "web"}),
    (((Role.REVIEWER, "dbcs-a"),), {"thamdinh", "tracuu", "web"}),
    (((Role.LISTENER, "dbcs-a"),), {"tamtucanbo", "web"}),
    (((Role.ADMIN, "khoi"),), {"thongbao", "thamdinh", "tracuu", "web", "tamtucanbo"}),
])
async def test_help_lists_what_the_roles_allow(deps: Deps, grants: tuple[tuple[Role, str], ...],
                                              extra: set[str]) -> None:
    await make_member(deps, user_id="u", unit="cb-a1", grants=grants)
    chat = Chat(Dispatcher(build_router(), deps), "u")
    await chat.say("/help")
    assert listed(chat) == EVERYONE | extra
    assert "/me (hoặc /toi) — Thông tin của tôi" in chat.text
    assert "/help (hoặc /huongdan)" in chat.text
    assert "tổ chức Đảng" not in chat.text and '"' not in chat.text


async def test_unlisted_commands_are_refused(deps: Deps, caplog: pytest.LogCaptureFixture) -> None:
    """What /help leaves out for a plain member is what the server refuses them."""
    await make_member(deps, user_id="u", unit="cb-a1")
    chat = Chat(Dispatcher(build_router(), deps), "u")
    for name in ("thongbao", "thamdinh", "tamtucanbo"):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="dvbot.dispatch"):
            await chat.say(f"/{name}")
        assert any("forbidden" in r.getMessage() for r in caplog.records), name
    for name in sorted(EVERYONE - {"huy"}):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="dvbot.dispatch"):
            await chat.say(f"/{name}")
        assert not any("forbidden" in r.getMessage() for r in caplog.records), name


async def test_vietnamese_aliases(deps: Deps) -> None:
    await make_member(deps, user_id="u", unit="cb-a1", name="Lê Thị Học")
    chat = Chat(Dispatcher(build_router(), deps), "u")
    await chat.say("/toi")
    assert "Thông tin của tôi" in chat.text and "Lê Thị Học" in chat.text
    assert "Đảng viên (sinh hoạt tại Chi bộ A1" in chat.text
    await chat.say("/huongdan")
    assert "Hướng dẫn sử dụng" in chat.text


async def test_guest_help(deps: Deps) -> None:
    chat = Chat(Dispatcher(build_router(), deps), "guest")
    await chat.say("/help")
    assert "mã mời" in chat.text and "đường dẫn" in chat.text and "link" not in chat.text
