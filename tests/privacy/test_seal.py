"""Sealing at rest: round trip, and every way a sealed value must refuse to open."""

from __future__ import annotations

import pytest

from bot.privacy.seal import SealBroken, Sealer

SECRET = b"0123456789abcdef0123456789abcdef"


def test_round_trip_and_no_plaintext() -> None:
    sealer = Sealer(SECRET)
    sealed = sealer.seal_text("survey-dialog", "member 4242 chose option 3", bound="dv:k")
    assert "4242" not in sealed and "option" not in sealed
    assert sealer.open_text("survey-dialog", sealed, bound="dv:k") == "member 4242 chose option 3"


def test_same_text_seals_differently_each_time() -> None:
    sealer = Sealer(SECRET)
    assert sealer.seal_text("p", "same") != sealer.seal_text("p", "same")


@pytest.mark.parametrize(("purpose", "bound", "secret"), [
    ("other-purpose", "dv:k", SECRET),  # used for another purpose
    ("survey-dialog", "dv:other", SECRET),  # moved to another key
    ("survey-dialog", "dv:k", b"another secret of enough length!"),  # another deployment
])
def test_refuses_to_open_elsewhere(purpose: str, bound: str, secret: bytes) -> None:
    sealed = Sealer(SECRET).seal_text("survey-dialog", "x", bound="dv:k")
    with pytest.raises(SealBroken):
        Sealer(secret).open_text(purpose, sealed, bound=bound)


def test_refuses_altered_or_garbage() -> None:
    sealer = Sealer(SECRET)
    raw = bytearray(sealer.seal("p", b"hello"))
    raw[-1] ^= 1
    with pytest.raises(SealBroken):
        sealer.open("p", bytes(raw))
    with pytest.raises(SealBroken):
        sealer.open_text("p", "not base64 at all!!")
    with pytest.raises(SealBroken):
        sealer.open("p", b"short")


def test_short_secret_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Sealer(b"short")


def test_tags_are_stable_keyed_and_per_purpose() -> None:
    sealer = Sealer(SECRET)
    assert sealer.tag("chat", "424242") == sealer.tag("chat", "424242")
    assert "424242" not in sealer.tag("chat", "424242")
    assert sealer.tag("chat", "424242") != sealer.tag("other", "424242")
    assert sealer.tag("chat", "424242") != Sealer(b"another secret of enough length!").tag(
        "chat", "424242")
