"""Opening the Redis connection: a configured server, or the embedded Valkey by default."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import cast
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import (
    AuthenticationError,
    ConnectionError,
    RedisClusterException,
    RedisError,
    TimeoutError,
)

from bot.settings import Settings
from bot.storage.embedded import EmbeddedValkey

log = logging.getLogger("dvbot.store")


class StoreUnavailable(Exception):
    """Redis cannot be reached at start-up; the message is one readable line."""


def redact(url: str) -> str:
    """The URL with any password replaced, safe for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def is_cluster(url: str) -> bool:
    """True for a redis+cluster:// (or rediss+cluster://) URL: a Redis/Valkey Cluster."""
    return urlsplit(url).scheme in CLUSTER_SCHEMES


def connect(url: str, *, max_connections: int = 200, wait: float = 10.0) -> Redis:
    """A client that rides out short outages: a Redis restart of a few seconds loses nothing.

    A redis+cluster://host:port URL (any one node; the rest are discovered) gives a
    RedisCluster client instead. Every multi-key operation of dvbot stays in one hash slot
    (bot/storage/keys.py), so the code is the same for both; the cluster client is typed as Redis
    because their command APIs are the same (see tests/cluster).

    On a single server the pool blocks rather than fails when every connection is busy:
    redis-py's default pool raises "Too many connections" at once, which a burst (a survey
    answered on 11,000 phones) would turn into errors. A caller that waits longer than `wait`
    seconds gets a ConnectionError, which flows answer as "Redis briefly down"."""
    parts = urlsplit(url)
    if parts.scheme in CLUSTER_SCHEMES:
        plain = urlunsplit(parts._replace(scheme=CLUSTER_SCHEMES[parts.scheme]))
        cluster = RedisCluster.from_url(
            plain,
            decode_responses=True,
            client_name=f"dvbot:{os.getpid()}",
            socket_connect_timeout=2,
            socket_timeout=5,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=8),
        )
        return cast(Redis, cluster)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=wait,
        decode_responses=True,
        client_name=f"dvbot:{os.getpid()}",
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=8),
        retry_on_error=[ConnectionError, TimeoutError],
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes both


def _reason(exc: Exception) -> str:
    """Why, in Vietnamese: redis-py's own text is English and may repeat the address."""
    text = str(exc)
    if isinstance(exc, AuthenticationError) or "AUTH" in text or "NOAUTH" in text:
        return "sai tên đăng nhập hoặc mật khẩu"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "không tìm thấy máy chủ"
    if isinstance(exc, TimeoutError) or "Timeout" in text:
        return "máy chủ không trả lời"
    if isinstance(exc, ConnectionError | RedisClusterException):
        return "máy chủ không nhận kết nối"
    return "máy chủ trả lời lỗi"


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Redis]:
    """Yield a connected client; start (and later stop) the embedded server if none is set."""
    async with AsyncExitStack() as stack:
        if settings.redis_url is not None:
            url = settings.redis_url.get_secret_value()
        else:
            embedded = EmbeddedValkey(settings.data_dir)
            url = await embedded.start()
            stack.push_async_callback(embedded.stop)
            log.info(
                "embedded Valkey %s in %s",
                "started" if embedded.owned else "reused",
                settings.data_dir,
            )
        redis = connect(url, max_connections=settings.redis_max_connections)
        stack.push_async_callback(redis.aclose)
        try:
            await redis.ping()
        except (RedisError, RedisClusterException) as exc:  # the latter: no node answered
            raise StoreUnavailable(
                f"Không kết nối được Redis tại {redact(url)} ({_reason(exc)}). "
                "Kiểm tra DVBOT_REDIS_URL."
            ) from None
        yield redis
