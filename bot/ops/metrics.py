"""Prometheus metrics of one process, served as text at /metrics.

Each process owns one `Metrics` (its own registry, no module globals); counters are cheap and
updated in the hot path, while queue lengths are read from Redis only when scraped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from redis.asyncio import Redis

from bot.delivery.ratelimit import RateLimiter, Reservation
from bot.delivery.sender import Sender, SendResult, Status
from bot.engine.messages import Reply
from bot.storage.keys import Keys
from bot.storage.unlocks import Unlocks

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Handler latency buckets: a flow answers in milliseconds; seconds mean trouble.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The process's metrics; `render()` gives the Prometheus text exposition."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates = Counter("dvbot_updates_handled", "Updates handled by the dispatcher",
                               ["channel", "outcome"], registry=r)
        self.latency = Histogram("dvbot_handler_latency_seconds",
                                 "Time from taking an update to having its replies",
                                 ["channel"], buckets=LATENCY_BUCKETS, registry=r)
        self.sent = Counter("dvbot_messages_sent", "Messages delivered by the outbox",
                            ["channel"], registry=r)
        self.failed = Counter("dvbot_messages_failed",
                              "Outbox delivery attempts that failed, by reason",
                              ["channel", "reason"], registry=r)
        self.replies = Counter("dvbot_replies_sent",
                               "Direct replies to updates delivered (one per reply)",
                               ["channel"], registry=r)
        self.replies_failed = Counter("dvbot_replies_failed",
                                      "Direct replies that could not be delivered, by reason",
                                      ["channel", "reason"], registry=r)
        self.waits = Counter("dvbot_ratelimit_waits",
                             "Times a sender had to wait for the shared rate limiter",
                             ["limiter"], registry=r)
        self.wait_seconds = Counter("dvbot_ratelimit_wait_seconds",
                                    "Seconds senders were told to wait by the rate limiter",
                                    ["limiter"], registry=r)
        self.queue = Gauge("dvbot_queue_length", "Queue lengths in Redis, read at scrape time",
                           ["queue", "channel"], registry=r)
        self.webhook_refused = Counter("dvbot_webhook_refused",
                                       "Webhook calls answered with an error status (the "
                                       "platform re-sends them; Zalo disables a webhook that "
                                       "keeps failing for 12 h)", ["channel", "status"],
                                       registry=r)
        self.webhook_failing = Gauge("dvbot_webhook_failing_seconds",
                                     "How long a webhook has answered nothing but errors "
                                     "(0 when its last answer was a success)", ["channel"],
                                     registry=r)
        self.unlocks = UnlockCounts()
        r.register(self.unlocks)

    def count_unlocks(self, unlocks: Unlocks) -> None:
        """Serve the lock-release counts of this process's dialog store."""
        self.unlocks.source = unlocks

    def handled(self, channel: str, outcome: str, seconds: float) -> None:
        """Count one handled update and its latency."""
        self.updates.labels(channel, outcome).inc()
        self.latency.labels(channel).observe(seconds)

    def result(self, channel: str, result: SendResult) -> None:
        """Count one outbox delivery attempt."""
        if result.status is Status.SENT:
            self.sent.labels(channel).inc()
        else:
            reason = result.reason if result.status is Status.FINAL else result.status.value
            self.failed.labels(channel, reason or "unknown").inc()

    def reply(self, channel: str, result: SendResult) -> None:
        """Count one direct reply (the answer to an update), by the same reasons."""
        if result.status is Status.SENT:
            self.replies.labels(channel).inc()
        else:
            reason = result.reason if result.status is Status.FINAL else result.status.value
            self.replies_failed.labels(channel, reason or "unknown").inc()

    async def read_queues(self, redis: Redis, keys: Keys, channels: Sequence[str]) -> None:
        """Refresh the queue gauges: scheduled jobs, active jobs and their backlog."""
        self.queue.labels("scheduled", "").set(await redis.zcard(keys.jobs_due()))
        self.queue.labels("firing", "").set(await redis.zcard(keys.jobs_firing()))
        for channel in channels:
            active = await redis.zrange(keys.jobs_active(channel), 0, -1)
            self.queue.labels("active_jobs", channel).set(len(active))
            backlog = 0
            for job_id in active:
                backlog += await redis.xlen(keys.job_queue(str(job_id), channel))
            self.queue.labels("deliveries", channel).set(backlog)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


class UnlockCounts(Collector):
    """How well lock releases share round trips (bot/storage/unlocks.py), read when scraped:
    releases per batch near 1 means every update paid a round trip of its own."""

    def __init__(self) -> None:
        self.source: Unlocks | None = None  # the process's dialog store's batcher, once known

    def collect(self) -> Iterator[CounterMetricFamily]:
        """The two counts, since the process started (nothing until a source is set)."""
        if self.source is None:
            return
        yield CounterMetricFamily("dvbot_lock_releases", "Lock releases sent in batches",
                                  value=self.source.released)
        yield CounterMetricFamily("dvbot_lock_release_batches",
                                  "Round trips that sent lock releases (one batch each)",
                                  value=self.source.batches)


class MeteredSender:
    """A Sender that counts every outcome of the one it wraps."""

    def __init__(self, inner: Sender, metrics: Metrics) -> None:
        self.channel = inner.channel
        self._inner = inner
        self._metrics = metrics

    async def deliver(self, address: str, reply: Reply, *, paid: bool = False) -> SendResult:
        """Deliver through the wrapped sender and count the result."""
        result = await self._inner.deliver(address, reply, paid=paid)
        self._metrics.result(self.channel, result)
        return result


class MeteredRateLimiter(RateLimiter):
    """The shared limiter, counting how often and how long senders were made to wait."""

    def __init__(self, redis: Redis, keys: Keys, name: str, *, metrics: Metrics,
                 **options: float) -> None:
        super().__init__(redis, keys, name, **options)
        self.metrics = metrics

    async def reserve(self, chat: str, *, paid: bool = False) -> Reservation:
        """Reserve as usual; a wait is counted."""
        slot = await super().reserve(chat, paid=paid)
        if slot.wait > 0:
            self.metrics.waits.labels(self.name).inc()
            self.metrics.wait_seconds.labels(self.name).inc(slot.wait)
        return slot


class Stopwatch:
    """Measures one handler call."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds since creation."""
        return time.perf_counter() - self.start
