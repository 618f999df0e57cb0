"""One connection held for a few commands, on whichever server owns a key.

WAITAOF and WAIT count the writes made on the calling connection, so a durable write and its
wait must share one connection. On a single server that is `redis.client()` (a client pinned
to one pooled connection). A cluster client has no such thing, and its commands go to the
node owning each key's slot: there we open a short-lived connection to the node that owns
`key` (all keys of one operation share its hash tag, so they live on that node too). Such
operations are rare (a submission, a decision) and already wait for an fsync, so the extra
connect costs nothing a member notices. During a resharding the node may answer MOVED; the
caller sees a RedisError like any other brief outage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster

# What a node's connection needs from the cluster client's settings (the rest is cluster
# plumbing a plain connection does not accept).
_KEEP = ("host", "port", "username", "password", "credential_provider", "client_name",
         "encoding", "encoding_errors", "decode_responses", "socket_timeout",
         "socket_connect_timeout", "socket_keepalive", "ssl_keyfile", "ssl_certfile",
         "ssl_cert_reqs", "ssl_ca_certs", "ssl_ca_data", "ssl_check_hostname")


@asynccontextmanager
async def pinned(redis: Redis | RedisCluster, key: str) -> AsyncIterator[Redis]:
    """A client bound to one connection on the server that holds `key`."""
    if not isinstance(redis, RedisCluster):
        async with redis.client() as conn:
            yield conn
        return
    node = redis.get_node_from_key(key)
    if node is None:  # pragma: no cover - get_node_from_key raises rather than return None
        raise LookupError(key)
    kwargs: dict[str, Any] = {k: v for k, v in node.connection_kwargs.items() if k in _KEEP}
    pool = ConnectionPool(connection_class=node.connection_class, max_connections=1, **kwargs)
    conn = Redis(connection_pool=pool, single_connection_client=True)
    try:
        yield conn
    finally:
        await conn.aclose()
        await pool.disconnect()
