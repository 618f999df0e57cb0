"""Rewriting the append-only file, so that it holds the present state and not the history.

The AOF logs every write in order. Even when each value that ties a person to an anonymous
answer is sealed, the order tells a story: an account's writes next to a survey's "answered"
mark. A rewrite replaces the log by the current data set, and the order is gone. dvbot asks
for one a few minutes after anonymous answers come in and when an anonymous survey closes.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError, ResponseError

log = logging.getLogger("dvbot.storage")


async def rewrite_aof(redis: Redis) -> bool:
    """Ask the server to rewrite its AOF now. False when a rewrite is already running (it
    began before our latest writes: ask again a little later); True otherwise, including when
    the server refuses the command (a managed Redis may): that is logged, nothing else to do."""
    try:
        if isinstance(redis, RedisCluster):  # each primary keeps its own file
            await redis.bgrewriteaof(target_nodes=RedisCluster.PRIMARIES)
        else:
            await redis.bgrewriteaof()
    except ResponseError as exc:
        if "in progress" in str(exc):
            return False
        log.warning("the store refused BGREWRITEAOF (%s): its append-only file keeps the "
                    "order of writes until the server rewrites it itself", exc)
    except (RedisError, RedisClusterException) as exc:
        log.warning("could not ask the store to rewrite its append-only file: %s", exc)
    return True
