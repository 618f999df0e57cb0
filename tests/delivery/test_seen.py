"""The engine records a Telegram account's last interaction at most once an hour per process,
under a keyed pseudonym and to the hour; channels whose adapters record their own are left to
them."""

from __future__ import annotations

from bot.delivery.reach import pseudonym
from bot.delivery.seen import Seen
from bot.privacy.seal import Sealer
from bot.storage.keys import Keys

SEALER = Sealer(b"s" * 32)
T = 1_800_000_123.0


def test_at_most_once_an_hour_per_account_to_the_hour() -> None:
    seen = Seen(Keys(), SEALER)
    first = seen.due("telegram", "42", T)
    assert first == ("dv:{seen:telegram}:last", pseudonym(SEALER, "42"), T // 3600 * 3600)
    assert seen.due("telegram", "42", T + 3599) is None
    assert seen.due("telegram", "43", T + 10) is not None  # another account
    assert seen.due("telegram", "42", T + 3600) is not None
    assert "42" not in first[1]


def test_the_zalo_adapters_record_their_own() -> None:
    seen = Seen(Keys(), SEALER)
    assert seen.due("zalo_oa", "u", T) is None and seen.due("zalo", "u", T) is None
    assert seen.due("console", "u", T) is None
