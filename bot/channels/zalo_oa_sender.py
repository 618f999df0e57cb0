"""Outbox delivery (broadcasts, notices) on the Zalo OA, and what each documented refusal
means for it: final with its own reason (not a follower, window closed, tier package, inactive
for 45 days, Zalo Cloud Account...), or waited out by every sender together through the shared
limiter's pause (-32 the app's rate limit, with a growing backoff; -234 the night, until 6:00).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from bot.channels.zalo_common import FileLinks, Outgoing, SendsOutgoing, ZaloSender, render
from bot.channels.zalo_oa_client import ZaloOaError
from bot.delivery.sender import BAD_REQUEST, SendResult, Status
from bot.engine.conversation import ConversationStore
from bot.engine.messages import Reply
from bot.formatting import VIETNAM

log = logging.getLogger("dvbot.zalo_oa")

CHANNEL = "zalo_oa"

# Refusals that are final for this message, each with the reason the broadcast report shows.
# Codes from Zalo's documented OA error table (see shared/platforms/zalo.md).
FINAL_ERRORS = {-213: "zalo_not_follower", -230: "zalo_window_closed",
                -232: "zalo_window_closed", -211: "zalo_quota", -218: "zalo_oa_receive_quota",
                -224: "zalo_oa_tier", -227: "zalo_inactive", -320: "zalo_oa_billing",
                -321: "zalo_oa_billing"}
RATE_LIMITED = -32  # the app's ~4,000 requests/minute: back off, every sender together
NIGHT = -234  # no sending 22:00–6:00: wait for the morning instead of failing
MORNING_HOUR = 6


class ZaloOaSender(ZaloSender):
    """Outbox delivery on the OA; refusals are final with their reason, -32 and the night
    are waited out by every sender together (through the shared limiter's pause)."""

    channel = CHANNEL
    error = ZaloOaError

    def __init__(self, client: SendsOutgoing, conversations: ConversationStore,
                 files: FileLinks | None = None) -> None:
        super().__init__(client, conversations, files)
        self._limited = 0  # -32 answers in a row in this process: the backoff grows

    def render(self, reply: Reply) -> list[Outgoing]:
        return render(reply, numbers=True, files=self._files, uploads=True)

    def classify(self, exc: Exception) -> SendResult:
        assert isinstance(exc, ZaloOaError)
        if exc.code == RATE_LIMITED:
            self._limited += 1
            return SendResult.retry_after(min(2.0 ** self._limited, 60.0))
        return classify(exc)

    async def deliver(self, address: str, reply: Reply, *, paid: bool = False) -> SendResult:
        result = await super().deliver(address, reply, paid=paid)
        if result.status is Status.SENT:
            self._limited = 0
        return result


def until_morning(now: datetime) -> float:
    """Seconds from `now` to the next 6:00, Vietnam time."""
    local = now.astimezone(VIETNAM)
    morning = local.replace(hour=MORNING_HOUR, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return (morning - local).total_seconds()


def classify(exc: ZaloOaError) -> SendResult:
    """What an OA error means for a delivery: never retried blindly."""
    if exc.code == NIGHT:
        seconds = until_morning(datetime.now(UTC))
        log.info("Zalo OA does not send at night: bulk messages wait %d minutes until 6:00",
                 seconds // 60)
        return SendResult.retry_after(seconds)
    if exc.status == 429:
        return SendResult.retry_after(1.0)
    if exc.retryable:
        return SendResult.transient(str(exc))
    if exc.code in FINAL_ERRORS:
        return SendResult.final(FINAL_ERRORS[exc.code])
    log.warning("Zalo OA refused a bulk message: %s", exc)
    return SendResult.final(BAD_REQUEST)
