"""Recording, from the engine, when an account last wrote to us on channels whose adapter does
not record it itself (Telegram; the Zalo adapters record every event, with the exact time the
OA's 48 h window needs).

Cheap by design: at most once per account per hour in this process (an in-process map, so no
read), and the write rides on the update's own release of its lock (bot/storage/unlocks.py),
so it costs no round trip. The account is stored under a keyed pseudonym and the time to the
hour: a copy of the store, compared with a later one, must not say who wrote while an anonymous
survey was being answered.
"""

from __future__ import annotations

from bot.delivery.reach import BY_ENGINE, pseudonym
from bot.privacy.seal import Sealer
from bot.storage.keys import Keys

EVERY = 3600  # seconds between two records of one account by one process
LIMIT = 200_000  # accounts remembered; past it the map starts again


class Seen:
    """Which accounts this process recorded lately, and the record of one that is due."""

    def __init__(self, keys: Keys, sealer: Sealer, *, every: int = EVERY,
                 limit: int = LIMIT) -> None:
        self._keys = keys
        self._sealer = sealer
        self._every = every
        self._limit = limit
        self._written: dict[str, float] = {}

    def due(self, channel: str, account: str, now: float) -> tuple[str, str, float] | None:
        """(sorted set, member, score) to write with this update's release, or None."""
        if channel not in BY_ENGINE:
            return None
        key = f"{channel}:{account}"
        last = self._written.get(key)
        if last is not None and now - last < self._every:
            return None
        if len(self._written) >= self._limit:
            self._written.clear()
        self._written[key] = now
        hour = float(int(now) // EVERY * EVERY)
        return (self._keys.last_interaction(channel), pseudonym(self._sealer, account), hour)
