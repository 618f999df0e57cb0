"""Outbox delivery (broadcasts, notices) on the Zalo Bot Platform: numbered options, text links
for files, and the plan's monthly quota.

Zalo answers 429 "Quota exceeded" when the bot's messages for the month (counted in both
directions on the free plan) are used up. A 429 is retried a few times with a growing pause of
the shared limiter; if it persists, the bot is marked out of quota until the next month
(bot.delivery.reach) and the delivery fails with that reason, so the worker hands the member to
another channel and later broadcasts route around the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from bot.channels.zalo_bot import CHANNEL, classify
from bot.channels.zalo_bot_client import ZaloBotError
from bot.channels.zalo_common import LIMIT, FileLinks, Outgoing, SendsOutgoing, ZaloSender, render
from bot.delivery.reach import BOT_QUOTA, Reach
from bot.delivery.sender import SendResult, Status
from bot.engine.conversation import ConversationStore
from bot.engine.messages import Reply

log = logging.getLogger("dvbot.zalo_bot")

QUOTA_STRIKES = 3  # 429s in a row before the month's quota is taken as used up


def utc_now() -> datetime:
    """Current time, timezone-aware."""
    return datetime.now(UTC)


class ZaloBotSender(ZaloSender):
    """Outbox delivery on the Bot Platform."""

    channel = CHANNEL
    error = ZaloBotError

    def __init__(self, client: SendsOutgoing, conversations: ConversationStore, reach: Reach,
                 files: FileLinks | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(client, conversations, files)
        self._reach = reach
        self._clock = clock
        self._strikes = 0  # consecutive 429 answers in this process

    def render(self, reply: Reply) -> list[Outgoing]:
        return render(reply, numbers=True, files=self._files, limit=LIMIT)

    def classify(self, exc: Exception) -> SendResult:
        assert isinstance(exc, ZaloBotError)
        return classify(exc)

    async def deliver(self, address: str, reply: Reply, *, paid: bool = False) -> SendResult:
        """Send, unless the month's quota is gone; a lasting 429 marks it gone."""
        if await self._reach.exhausted(CHANNEL):
            return SendResult.final(BOT_QUOTA)
        result = await super().deliver(address, reply, paid=paid)
        if result.status is Status.SENT:
            self._strikes = 0
        if result.status is not Status.RETRY_AFTER:
            return result
        self._strikes += 1
        if self._strikes < QUOTA_STRIKES:
            return SendResult.retry_after(float(2 ** self._strikes))
        self._strikes = 0
        await self._reach.exhaust(CHANNEL, self._clock())
        log.error("Zalo Bot Platform keeps answering 429 \"Quota exceeded\": the bot's monthly "
                  "quota is used up; until next month members are reached on other channels")
        return SendResult.final(BOT_QUOTA)
