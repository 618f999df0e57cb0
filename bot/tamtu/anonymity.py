"""What keeps an anonymous thread unlinkable from its member.

- The sender is sealed (AES-GCM, key derived from the deployment secret, which is not in
  Redis) inside the thread, bound to the thread's key; only delivery of answers opens it.
- A member's own list of threads and their daily count live under an HMAC of the member id
  keyed from the same secret: without the secret nobody can tell whose list a key is.
- The member's draft (level, topic, text, whether anonymous) is sealed in the dialog state,
  bound to the account, so the dialog key never holds the text in the clear.
- An anonymous thread is attributed to the nearest unit with at least k members and goes to
  a cấp ủy no lower than that unit, so neither the queue nor the reports single out a group
  smaller than k.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date
from typing import Any

from redis.asyncio import Redis

from bot.org.tree import OrgTree
from bot.privacy.seal import SealBroken, Sealer
from bot.storage.keys import Keys

SENDER, MINE, DRAFT = "tamtu-sender", "tamtu-mine", "tamtu-draft"


class Anonymity:
    """Sealing and keyed tags for one deployment secret."""

    def __init__(self, sealer: Sealer, secret: bytes) -> None:
        self._sealer = sealer
        # A key of its own for the tags, so they match nothing else made from the secret.
        self._tag_key = hmac.new(secret, b"dvbot-tamtu-tags-v1", hashlib.sha256).digest()

    # ------------------------------------------------------------------ tags
    def member_tag(self, member_id: str) -> str:
        """The member's keyed tag (their own list of threads)."""
        return self._tag(f"mine\x00{member_id}")

    def quota_tag(self, member_id: str, day: date) -> str:
        """The member's tag for one day's count of new threads (a new tag each day)."""
        return self._tag(f"quota\x00{member_id}\x00{day.isoformat()}")

    def _tag(self, text: str) -> str:
        return hmac.new(self._tag_key, text.encode(), hashlib.sha256).hexdigest()[:32]

    # ------------------------------------------------------------------ sealing
    def seal_sender(self, member_id: str, thread_key: str) -> str:
        """The sender as stored in the thread (opens only under this thread's key)."""
        return self._sealer.seal_text(SENDER, member_id, bound=thread_key)

    def open_sender(self, sealed: str, thread_key: str) -> str | None:
        """The sender's member id, for delivering an answer; None if it does not open."""
        try:
            return self._sealer.open_text(SENDER, sealed, bound=thread_key)
        except SealBroken:
            return None

    def seal_codes(self, codes: list[str], key: str) -> str:
        """A member's list of codes, sealed to its key."""
        return self._sealer.seal_text(MINE, json.dumps(codes), bound=key)

    def open_codes(self, sealed: str | None, key: str) -> list[str]:
        """The list back (empty when there is none or it does not open)."""
        if not sealed:
            return []
        try:
            codes = json.loads(self._sealer.open_text(MINE, sealed, bound=key))
        except (SealBroken, ValueError):
            return []
        return [str(c) for c in codes] if isinstance(codes, list) else []

    def seal_draft(self, draft: dict[str, Any], account: str) -> str:
        """The draft of a new thread, sealed to the account whose dialog holds it."""
        return self._sealer.seal_text(DRAFT, json.dumps(draft, ensure_ascii=False),
                                      bound=account)

    def open_draft(self, sealed: object, account: str) -> dict[str, Any]:
        """The draft back; empty when missing or moved from another account."""
        if not isinstance(sealed, str):
            return {}
        try:
            data = json.loads(self._sealer.open_text(DRAFT, sealed, bound=account))
        except (SealBroken, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


async def subtree_sizes(redis: Redis, keys: Keys, tree: OrgTree, chain: list[str]
                        ) -> dict[str, int]:
    """Members in the subtree of each unit of `chain` (one pipelined round trip)."""
    wanted = {u: tree.subtree(u) for u in chain}
    every = sorted({u for units in wanted.values() for u in units})
    async with redis.pipeline(transaction=False) as pipe:
        for unit in every:
            pipe.scard(keys.unit_members(unit))
        counts = dict(zip(every, [int(n) for n in await pipe.execute()], strict=True))
    return {u: sum(counts[x] for x in units) for u, units in wanted.items()}


def nearest_with(chain: list[str], sizes: dict[str, int], k: int) -> str:
    """The first unit of `chain` (home unit, then up) with at least k members, else the top."""
    return next((u for u in chain if sizes.get(u, 0) >= k), chain[-1])
