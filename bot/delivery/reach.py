"""Where a member can be reached right now, and at what cost.

Zalo OA consultation messages are free within 48 h of the member's last message to the OA,
billed from 48 h to 7 days (and refused without a funded Zalo Cloud Account), refused after 7
days. The Zalo Bot Platform has no window but a monthly quota. Telegram is free whenever the
member is linked. So every bulk delivery picks, per member, the first channel that delivers
now for free, then billed OA if the deployment allows it; otherwise the member is counted
unreachable with the reason, and offered what they missed when they next write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.delivery.models import Recipient
from bot.formatting import VIETNAM
from bot.org.models import Member
from bot.privacy.seal import Sealer
from bot.storage.keys import Keys

OA, BOT, TELEGRAM = "zalo_oa", "zalo", "telegram"
FREE, BILLED = "free", "billed"
OA_FREE_SECONDS = 48 * 3600
OA_BILLED_SECONDS = 7 * 86_400
# Unreachable reasons (the outbox records them like delivery failures).
NO_ACCOUNT = "no_account"
OA_WINDOW_CLOSED = "zalo_window_closed"  # no message from the member for more than 7 days
OA_BILLED_OFF = "zalo_oa_billed_off"  # 48 h–7 days: billed, and billed sends are off
BOT_QUOTA = "zalo_bot_quota"  # the Zalo bot used up its monthly quota
# Tried in this order; console and demo are the terminal's own channels.
ORDER = (TELEGRAM, OA, BOT, "console", "demo")
# Channels whose last interactions the engine records (bot.delivery.seen), by a keyed pseudonym
# of the account; the Zalo adapters record theirs by account id.
BY_ENGINE = frozenset({TELEGRAM})
# Reasons after which a member is offered the missed notices when they next write.
OFFER_LATER = frozenset({OA_WINDOW_CLOSED, OA_BILLED_OFF, BOT_QUOTA, "zalo_not_follower",
                         "zalo_inactive", "zalo_oa_billing", "zalo_oa_receive_quota"})


@dataclass(frozen=True)
class Route:
    """A member's channel for one delivery (None: unreachable, with `reason`)."""

    channel: str | None
    address: str = ""
    cost: str = ""  # FREE or BILLED
    reason: str = ""


@dataclass(frozen=True)
class Facts:
    """What routing needs to know about a batch of members, read from Redis at once."""

    now: float
    last: dict[tuple[str, str], float] = field(default_factory=dict)  # (channel, id) -> time
    exhausted: frozenset[str] = frozenset()  # channels out of their monthly quota
    billed_allowed: bool = False


def route(member: Member, facts: Facts, *, avoid: Iterable[str] = ()) -> Route:
    """The member's best channel now: free first, then billed OA if allowed."""
    skip = set(avoid)
    ids = {c: a for c, a in member.identities.items() if c not in skip}
    reason = NO_ACCOUNT
    billed: Route | None = None
    for channel in ORDER:
        address = ids.get(channel)
        if not address:
            continue
        if channel in facts.exhausted:
            reason = BOT_QUOTA if reason == NO_ACCOUNT else reason
            continue
        if channel != OA:
            return Route(channel, address, FREE)
        age = facts.now - facts.last.get((OA, address), float("-inf"))
        if age <= OA_FREE_SECONDS:
            return Route(OA, address, FREE)
        if age <= OA_BILLED_SECONDS and facts.billed_allowed:
            billed = billed or Route(OA, address, BILLED)
        reason = OA_BILLED_OFF if age <= OA_BILLED_SECONDS else OA_WINDOW_CLOSED
    return billed or Route(None, reason=reason)


def addressed(member: Member, facts: Facts, group: str = "", *,
              avoid: Iterable[str] = ()) -> Recipient:
    """The member as a job's recipient, by the channel that reaches them now."""
    r = route(member, facts, avoid=avoid)
    return Recipient(member.id, r.channel, r.address, group, r.cost, r.reason)


def pseudonym(sealer: Sealer, account: str) -> str:
    """How an account recorded by the engine is named in its channel's interaction set."""
    return sealer.tag("last-interaction", account)


def next_month(moment: datetime) -> datetime:
    """The first instant of the next calendar month, Vietnam time (when quotas reset)."""
    local = moment.astimezone(VIETNAM)
    first = (local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
             + timedelta(days=32)).replace(day=1)
    return first


class Reach:
    """Last interactions per channel, monthly quotas, and the routing facts built from them."""

    def __init__(self, redis: Redis, keys: Keys, *, billed_allowed: bool = False,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 sealer: Sealer | None = None) -> None:
        self._redis = redis
        self._keys = keys
        self.billed_allowed = billed_allowed
        self._clock = clock
        self._sealer = sealer

    async def recipients(self, members: Sequence[Member],
                         group: Callable[[Member], str] | None = None, *,
                         avoid: Iterable[str] = ()) -> list[Recipient]:
        """Every member as a recipient routed now (unreachable ones carry the reason): the
        one way a job's recipients are made, so no notice picks a channel on its own."""
        facts = await self.facts(members, self._clock())
        return [addressed(m, facts, group(m) if group else "", avoid=avoid) for m in members]

    async def interacted(self, channel: str, account: str, when: float) -> None:
        """The account wrote to us on `channel` at `when` (epoch seconds; never goes back)."""
        await self._redis.zadd(self._keys.last_interaction(channel), {account: when}, gt=True)

    async def last(self, channel: str, account: str) -> float | None:
        """When the account last wrote to us on `channel` (for the engine's channels, to the
        hour), or None."""
        if channel in BY_ENGINE and self._sealer is not None:
            account = pseudonym(self._sealer, account)
        score = await self._redis.zscore(self._keys.last_interaction(channel), account)
        return float(score) if score is not None else None

    async def exhaust(self, channel: str, now: datetime) -> None:
        """The channel used up its monthly quota: route around it until next month."""
        until = next_month(now)
        await self._redis.set(self._keys.channel_quota(channel), now.isoformat(),
                              exat=int(until.timestamp()))

    async def restore(self, channel: str) -> None:
        """The channel delivered again: its quota is back."""
        await self._redis.delete(self._keys.channel_quota(channel))

    async def exhausted(self, channel: str) -> bool:
        """Is the channel out of its monthly quota?"""
        return bool(await self._redis.exists(self._keys.channel_quota(channel)))

    async def facts(self, members: Sequence[Member], now: datetime) -> Facts:
        """Everything `route` needs for these members, in a few round trips."""
        oa_ids = sorted({m.identities[OA] for m in members if m.identities.get(OA)})
        last: dict[tuple[str, str], float] = {}
        if oa_ids:
            scores = await self._redis.zmscore(self._keys.last_interaction(OA), oa_ids)
            last = {(OA, a): float(s) for a, s in zip(oa_ids, scores, strict=True)
                    if s is not None}
        exhausted = frozenset([c for c in (BOT, OA) if await self.exhausted(c)])
        return Facts(now.timestamp(), last, exhausted, self.billed_allowed)
