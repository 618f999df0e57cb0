"""Pins every Redis key string: renaming one silently orphans production data."""

from __future__ import annotations

from bot.keys import Keys


def test_key_strings_are_pinned() -> None:
    k = Keys()
    assert k.units() == "dv:units"
    assert k.units_version() == "dv:units:ver"
    assert k.unit_members("cb-a1") == "dv:{unit:cb-a1}:members"
    assert k.member_seq() == "dv:seq:member"
    assert k.member("42") == "dv:{m:42}"
    assert k.members_all() == "dv:members"
    assert k.identity("telegram", "123") == "dv:ident:telegram:123"
    assert k.invite("ABCDEFGHJK") == "dv:{inv:ABCDEFGHJK}"
    assert k.invite_redeemers("ABCDEFGHJK") == "dv:{inv:ABCDEFGHJK}:by"
    assert k.invites() == "dv:invites"
    assert k.dialog("telegram", "123") == "dv:{u:telegram:123}:dialog"
    assert k.options("console", "local") == "dv:{u:console:local}:opts"
    assert k.lock("telegram", "123") == "dv:{u:telegram:123}:lock"
    assert k.seen_update("telegram", "99") == "dv:seen:telegram:99"
    assert k.audit() == "dv:audit"


def test_demo_namespace_never_overlaps_real_keys() -> None:
    real, demo = Keys("dv"), Keys("dvdemo")
    assert demo.member("1") == "dvdemo:{m:1}"
    assert not demo.member("1").startswith("dv:")
    assert real.units() != demo.units()


def test_keys_of_one_entity_share_a_cluster_slot() -> None:
    """Multi-key scripts (invite redemption, account state) must stay in one hash slot."""
    k = Keys()

    def tag(key: str) -> str:
        return key[key.index("{") + 1:key.index("}")]

    assert tag(k.invite("X")) == tag(k.invite_redeemers("X"))
    assert tag(k.dialog("t", "1")) == tag(k.options("t", "1")) == tag(k.lock("t", "1"))
