"""When a channel fails a member for good for a reason another channel does not share (the Zalo
bot's monthly quota, the OA's closed window...), hand the delivery to the member's next channel;
with none left, keep the job to offer when the member next writes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.delivery.models import Delivery, Recipient
from bot.delivery.outbox import Outbox
from bot.delivery.reach import OFFER_LATER, Reach, route
from bot.org.members import MemberStore


class Rerouter:
    """The worker's hook for final failures: True when the delivery went to another channel."""

    def __init__(self, members: MemberStore, reach: Reach, outbox: Outbox,
                 clock: Callable[[], datetime]) -> None:
        self._members = members
        self._reach = reach
        self._outbox = outbox
        self._clock = clock

    async def __call__(self, d: Delivery, channel: str, reason: str) -> bool:
        """Reroute `d` away from `channel` if that can help; remember it otherwise."""
        if reason not in OFFER_LATER:
            return False
        member = await self._members.get(d.member_id)
        if member is not None:
            facts = await self._reach.facts([member], self._clock())
            found = route(member, facts, avoid={channel})
            if found.channel is not None and await self._outbox.reroute(
                    d.job_id, Recipient(member.id, found.channel, found.address, d.group,
                                        found.cost)):
                return True
        await self._outbox.keep_for_later(d.job_id, [d.member_id])
        return False
