"""Button payloads: packed under 64 bytes, and anything forged or garbled is refused."""

from __future__ import annotations

import pytest

from bot.engine.actions import Action, BadPayload, act


def test_round_trip() -> None:
    packed = act("inv.mk", "cb-a1", "member", "10")
    assert packed == "inv.mk|cb-a1|member|10"
    assert Action.parse(packed) == Action("inv.mk", ("cb-a1", "member", "10"))


def test_refuses_payload_over_64_bytes_when_building() -> None:
    with pytest.raises(BadPayload, match="64"):
        act("inv.mk", "x" * 32, "y" * 32)


@pytest.mark.parametrize("raw", [
    "", "x" * 65, "Menu", "menu||", "menu|<script>", "menu|a b", "9abc", "menu|" + "đ" * 3,
    "a" * 30,
])
def test_parse_refuses_garbled_payloads(raw: str) -> None:
    with pytest.raises(BadPayload):
        Action.parse(raw)


def test_arguments_cannot_contain_the_separator() -> None:
    with pytest.raises(BadPayload):
        act("menu", "a|b")
