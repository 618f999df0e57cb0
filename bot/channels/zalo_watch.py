"""Watches what our Zalo webhooks answer. Zalo re-sends an event that was not answered 200 and,
after 12 hours of failed deliveries, disables the OA's webhook: the bot then hears nothing
until someone re-enables it in the developer console. A streak of 401/503 answers (a wrong
secret key, the store down) is counted in /metrics and logged as an error long before that."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.ops.metrics import Metrics

log = logging.getLogger("dvbot.zalo")

ALARM_AFTER = 600.0  # seconds of nothing but error answers before the error is logged
ALARM_CALLS = 5  # ... and at least this many of them (one stray bad call is no streak)
DISABLED_AFTER_HOURS = 12


class WebhookWatch:
    """One webhook's recent answers: counts errors, raises the alarm once per streak."""

    def __init__(self, channel: str, metrics: Metrics, *, alarm_after: float = ALARM_AFTER,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.channel = channel
        self._metrics = metrics
        self._alarm_after = alarm_after
        self._clock = clock
        self._since: float | None = None  # first error answer of the current streak
        self._count = 0
        self._alarmed = False

    def answered(self, status: int) -> None:
        """Record one answer; a success ends the streak."""
        if status < 300:
            if self._alarmed:
                log.warning("%s webhook answers 200 again after %d error answers",
                            self.channel, self._count)
            self._since, self._count, self._alarmed = None, 0, False
            self._metrics.webhook_failing.labels(self.channel).set(0)
            return
        self._metrics.webhook_refused.labels(self.channel, str(status)).inc()
        now = self._clock()
        self._since = now if self._since is None else self._since
        self._count += 1
        failing = now - self._since
        self._metrics.webhook_failing.labels(self.channel).set(failing)
        if failing >= self._alarm_after and self._count >= ALARM_CALLS and not self._alarmed:
            self._alarmed = True
            log.error("%s webhook has answered only errors (last: HTTP %d) for %d minutes, "
                      "%d calls: Zalo disables a webhook whose deliveries fail for %d hours. "
                      "Check the secret key settings and the store now.", self.channel,
                      status, failing // 60, self._count, DISABLED_AFTER_HOURS)
