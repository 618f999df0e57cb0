"""Cadres see, for one directive, % per child unit and who has not studied it — only within
their scope, whatever the buttons say."""

from __future__ import annotations

import pytest

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Member, Role, Unit
from tests.conftest import make_member
from tests.handlers.chat import Chat
from tests.library.helpers import import_shipped


@pytest.fixture
async def people(deps: Deps) -> dict[str, Member]:
    """The shipped library and members in several chi bộ; two studied 25-NQ/TW."""
    await import_shipped(deps)
    people = {}
    for user, unit, name in (("a1", "cb-a1", "Nguyễn Văn An"), ("a2", "cb-a1", "Trần Thị Bình"),
                             ("a3", "cb-a2", "Lê Văn Cường"), ("b1", "cb-b1", "Phạm Thị Dung")):
        people[user] = await make_member(deps, user_id=user, unit=unit, name=name)
    for user in ("a1", "b1"):
        await deps.library.ack("25-nq-tw", people[user].id, people[user].unit)
    return people


async def test_khoi_cadre_drills_down(deps: Deps, dispatcher: Dispatcher,
                                      people: dict[str, Member]) -> None:
    await make_member(deps, user_id="k", unit="khoi", grants=((Role.CADRE, "khoi"),))
    chat = Chat(dispatcher, "k")
    await chat.say("/menu")
    await chat.press("Báo cáo nghiên cứu")
    await chat.press("25-NQ/TW")
    text = chat.text
    assert "Đã nghiên cứu: 2/5 đảng viên (40%)" in text
    assert "• Đảng bộ cơ sở A: 1/3 (33%)" in text and "• Đảng bộ cơ sở B: 1/1 (100%)" in text
    assert "Sinh hoạt trực tiếp tại Đảng bộ Khối Thử nghiệm: 0/1 (0%)" in text
    await chat.press("Đảng bộ cơ sở A (33%)")
    assert "• Chi bộ A1: 1/2 (50%)" in chat.text and "• Chi bộ A2: 0/1 (0%)" in chat.text
    await chat.press("Danh sách chưa nghiên cứu (2)")
    assert "Trần Thị Bình — Chi bộ A1" in chat.text and "Lê Văn Cường — Chi bộ A2" in chat.text
    assert "Nguyễn Văn An" not in chat.text
    await chat.press("Về báo cáo")
    await chat.press("Lên cấp trên")
    assert "Đơn vị: Đảng bộ Khối Thử nghiệm" in chat.text


async def test_chi_bo_cadre_sees_only_their_chi_bo(deps: Deps, dispatcher: Dispatcher,
                                                   people: dict[str, Member]) -> None:
    await make_member(deps, user_id="c", unit="cb-a1", grants=((Role.CADRE, "cb-a1"),))
    chat = Chat(dispatcher, "c")
    await chat.press_raw("cov.d|25-nq-tw")
    assert "Đơn vị: Đảng bộ Khối Thử nghiệm › Đảng bộ cơ sở A › Chi bộ A1" in chat.text
    assert "Đã nghiên cứu: 1/3 đảng viên (33%)" in chat.text
    assert not any("Lên cấp trên" in label for label in chat.labels())
    for payload in ("cov.u|25-nq-tw|khoi", "cov.n|25-nq-tw|cb-b1|0", "cov.u|25-nq-tw|zz"):
        await chat.press_raw(payload)
        assert "không có quyền" in chat.text, payload
    await chat.press_raw("cov.u|khong-co|cb-a1")
    assert "Không tìm thấy" in chat.text


async def test_members_cannot_see_reports(dispatcher: Dispatcher, people: dict[str, Member]
                                          ) -> None:
    chat = Chat(dispatcher, "a1")
    await chat.say("/menu")
    assert "Báo cáo nghiên cứu" not in chat.labels()
    await chat.press_raw("cov")
    assert "được phân công phụ trách đơn vị" in chat.text
    await chat.press_raw("cov.n|25-nq-tw|cb-a1|0")
    assert "không có quyền" in chat.text


async def test_names_are_paginated(deps: Deps, dispatcher: Dispatcher) -> None:
    await import_shipped(deps)
    await deps.units.import_units([Unit(id="cb-big", name="Chi bộ Lớn", kind="chi_bo",
                                        parent="dbcs-b")])
    for n in range(45):
        await make_member(deps, user_id=f"x{n}", unit="cb-big", name=f"Đảng Viên Số {n:02d}")
    await make_member(deps, user_id="c", unit="cb-big", grants=((Role.CADRE, "cb-big"),))
    chat = Chat(dispatcher, "c")
    await chat.press_raw("cov.n|25-nq-tw|cb-big|0")
    assert "46 đồng chí — trang 1/3" in chat.text and "20. " in chat.text
    await chat.press("Trang sau")
    assert "trang 2/3" in chat.text and "21. " in chat.text
