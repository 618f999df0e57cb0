"""DVBOT_REDIS_URL=redis+cluster://host:port makes dvbot use a cluster client: open_store
connects to every master, and a registered member's keys land on different nodes."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from bot.deps import Links, build_deps
from bot.settings import Settings
from bot.storage.connection import StoreUnavailable, is_cluster, open_store
from bot.storage.keys import Keys
from bot.storage.pinned import pinned
from tests.conftest import UNITS, free_port, make_member


async def test_open_store_with_a_cluster_url(valkey_url: str, cluster_ports: list[int],
                                             redis: RedisCluster, tmp_path: Path) -> None:
    assert is_cluster(valkey_url) and not is_cluster("redis://127.0.0.1:6379/0")
    settings = Settings(_env_file=None, redis_url=valkey_url,  # type: ignore[call-arg]
                        data_dir=tmp_path)
    async with open_store(settings) as store:
        assert isinstance(store, RedisCluster)
        assert {n.port for n in store.get_primaries()} == set(cluster_ports)
        deps = build_deps(settings, store, Keys("dv"), Links(telegram_username="dvbot_test_bot"))
        await deps.units.import_units(UNITS)
        member = await make_member(deps, user_id="42", unit="cb-a1")
        found = await deps.members.by_account("telegram", "42")
        assert found is not None and found.id == member.id
    # The data is spread over the masters, as a cluster should spread it.
    holding = 0
    for port in cluster_ports:
        node = Redis(host="127.0.0.1", port=port, decode_responses=True)
        holding += int(await node.dbsize()) > 0
        await node.aclose()
    assert holding >= 2


async def test_pinned_connection_is_on_the_owning_node(redis: RedisCluster) -> None:
    key = Keys("dv").proposal("DX-2026-0001")
    async with pinned(redis, key) as conn:
        await conn.set(key, "1")  # a plain connection: MOVED would raise if it were elsewhere
        assert await conn.get(key) == "1"
    assert await redis.get(key) == "1"


async def test_an_unreachable_cluster_is_one_readable_line(tmp_path: Path) -> None:
    url = f"redis+cluster://127.0.0.1:{free_port()}"
    settings = Settings(_env_file=None, redis_url=url, data_dir=tmp_path)  # type: ignore[call-arg]
    try:
        async with open_store(settings):
            raise AssertionError("connected to nothing")
    except StoreUnavailable as exc:
        assert "DVBOT_REDIS_URL" in str(exc) and "redis+cluster://" in str(exc)
