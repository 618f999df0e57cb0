"""Three `dvbot run` processes in webhook mode behind a load balancer (this test), sharing one
Valkey and the Bot API stand-in, behave as one bot: no update handled twice, each person's
updates handled in order, a scheduled broadcast delivered once; SIGTERM loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.app import make_deps
from bot.broadcasts.service import Broadcast
from bot.channels.webhook import SECRET_HEADER, telegram_path
from bot.deps import Deps
from bot.org.models import Role
from tests.conftest import UNITS, free_port, make_member
from tests.standin.botapi import BotApiStandin

DVBOT = str(Path(sys.executable).with_name("dvbot"))
USERS = range(6101, 6109)


@dataclass
class Cluster:
    """The workers, the stand-in, and an HTTP client acting as the load balancer."""

    standin: BotApiStandin
    deps: Deps
    ports: list[int]
    processes: list[asyncio.subprocess.Process]
    http: aiohttp.ClientSession
    secret: str

    async def post(self, worker: int, update: dict[str, Any]) -> int:
        """Deliver one update to one worker, as the load balancer would."""
        url = f"http://127.0.0.1:{self.ports[worker]}{telegram_path(self.secret)}"
        async with self.http.post(url, json=update,
                                  headers={SECRET_HEADER: self.secret}) as resp:
            await resp.read()
            return resp.status


async def _ready(http: aiohttp.ClientSession, port: int,
                 process: asyncio.subprocess.Process) -> None:
    for _ in range(300):
        if process.returncode is not None:
            assert process.stderr is not None
            raise AssertionError("a worker died at start-up:\n"
                                 + (await process.stderr.read()).decode(errors="replace")[-3000:])
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                if resp.status == 200:
                    return
        await asyncio.sleep(0.05)
    raise AssertionError(f"worker on port {port} never became healthy")


@pytest.fixture
async def cluster(redis: Redis, valkey_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    async with BotApiStandin() as standin, aiohttp.ClientSession() as http:
        secret = secrets.token_urlsafe(24)
        deps = make_deps(load_test_settings(valkey_url, tmp_path), redis)
        await deps.units.import_units(UNITS)
        ports = [free_port() for _ in range(3)]
        processes = []
        for port in ports:
            env = {k: v for k, v in os.environ.items() if not k.startswith("DVBOT_")}
            env.update(DVBOT_REDIS_URL=valkey_url, DVBOT_TELEGRAM_TOKEN=standin.token,
                       DVBOT_TELEGRAM_API_URL=standin.url, DVBOT_DATA_DIR=str(tmp_path / "d"),
                       DVBOT_WEBHOOK_URL="https://bot.example.org", DVBOT_WEBHOOK_SECRET=secret,
                       DVBOT_HTTP_HOST="127.0.0.1", DVBOT_HTTP_PORT=str(port),
                       DVBOT_LOG_FORMAT="json", DVBOT_SURVEY_SECRET=secret)
            processes.append(await asyncio.create_subprocess_exec(
                DVBOT, "run", env=env, cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE))
        try:
            for port, process in zip(ports, processes, strict=True):
                await _ready(http, port, process)
            yield Cluster(standin, deps, ports, processes, http, secret)
        finally:
            for process in processes:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                await asyncio.wait_for(process.communicate(), 30)


def load_test_settings(valkey_url: str, tmp_path: Path) -> Any:
    from bot.settings import Settings
    return Settings(_env_file=None, redis_url=valkey_url,  # type: ignore[call-arg]
                    data_dir=tmp_path / "d")


async def test_three_workers_behave_as_one_bot(cluster: Cluster) -> None:
    standin, deps = cluster.standin, cluster.deps
    author = await make_member(deps, user_id="6100", unit="khoi",
                               grants=((Role.CADRE, "khoi"),))
    for user in USERS:
        await make_member(deps, user_id=str(user), unit="cb-a1")
    rounds = 6
    spread = itertools.count()

    async def person(user: int) -> list[int]:
        """One person types /x0 ... /x5; consecutive updates go to different workers, and
        every other one is delivered a second time to yet another worker."""
        ids = []
        for n in range(rounds):
            update = standin.make_message_update(user, f"/x{n}")
            worker = next(spread) % 3
            assert await cluster.post(worker, update) == 200
            if n % 2:
                assert await cluster.post((worker + 1) % 3, update) == 200
            ids.append(update["update_id"])
        return ids

    at = datetime.now(UTC) + timedelta(seconds=1)
    await deps.broadcasts.create(Broadcast(author=author.id, author_name=author.name,
                                           unit="khoi", text="Họp toàn Khối lúc 14 giờ",
                                           at=at, created_at=at))
    await asyncio.gather(*(person(user) for user in USERS))
    for user in USERS:
        await standin.wait_for(lambda u=user: len(_answers(standin, u)) >= rounds
                               and len(_notices(standin, u)) >= 1, 15, f"replies to {user}")
    await asyncio.sleep(0.5)  # a second handling or a second broadcast would show up by now
    for user in USERS:
        answers = _answers(standin, user)
        assert answers == [f"/x{n}" for n in range(rounds)], (user, answers)  # once, in order
        assert len(_notices(standin, user)) == 1
    # Every worker took part.
    page = [await _metrics(cluster, port) for port in cluster.ports]
    assert all('dvbot_updates_handled_total{channel="telegram",outcome="ok"}' in p
               for p in page)


async def test_sigterm_finishes_updates_in_flight(cluster: Cluster) -> None:
    standin = cluster.standin
    for user in USERS:
        await make_member(cluster.deps, user_id=str(user), unit="cb-a1")
    accepted = []
    for n, user in enumerate(USERS):
        update = standin.make_message_update(user, f"/y{n}")
        assert await cluster.post(0, update) == 200
        accepted.append(user)
    cluster.processes[0].send_signal(signal.SIGTERM)
    _out, err = await asyncio.wait_for(cluster.processes[0].communicate(), 30)
    assert cluster.processes[0].returncode == 0, err.decode()[-2000:]
    for n, user in enumerate(accepted):  # answered before the worker exited
        assert _answers(standin, user) == [f"/y{n}"]
    log = err.decode()
    assert standin.token not in log and cluster.secret not in log
    assert '"message": "dvbot stopped"' in log
    # The others keep serving, and a stopped worker's port refuses (the balancer moves on).
    update = standin.make_message_update(USERS[0], "/z")
    assert await cluster.post(1, update) == 200
    await standin.wait_for(lambda: "/z" in _answers(standin, USERS[0]), 10, "reply to /z")
    with pytest.raises(aiohttp.ClientError):
        await cluster.post(0, standin.make_message_update(USERS[1], "/late"))


def _answers(standin: BotApiStandin, user: int) -> list[str]:
    """The unknown commands the bot answered for `user`, in the order it answered."""
    return [found.group(1) for message in standin.messages_to(user)
            if (found := re.match(r"Không có lệnh (/\w+)", message.text or ""))]


def _notices(standin: BotApiStandin, user: int) -> list[str]:
    return [m.text or "" for m in standin.messages_to(user)
            if "Họp toàn Khối" in (m.text or "")]


async def _metrics(cluster: Cluster, port: int) -> str:
    async with cluster.http.get(f"http://127.0.0.1:{port}/metrics") as resp:
        return await resp.text()


async def test_inbox_left_by_a_killed_worker_is_swept(cluster: Cluster) -> None:
    """Worker 0 accepts three updates while a drain lease is held by a worker that died
    mid-drain (its lease runs out), then worker 0 is killed too: the others' sweepers find
    the inbox and answer the three, in order, once."""
    standin, deps = cluster.standin, cluster.deps
    user = USERS[0]
    await make_member(deps, user_id=str(user), unit="cb-a1")
    await deps.redis.set(deps.keys.inbox_lock("telegram", str(user)), "dead", px=1500)
    for n in range(3):
        assert await cluster.post(0, standin.make_message_update(user, f"/k{n}")) == 200
    cluster.processes[0].send_signal(signal.SIGKILL)
    await cluster.processes[0].wait()
    assert _answers(standin, user) == []  # nobody could drain: the lease was held
    assert await deps.redis.zcard(deps.keys.inbox("telegram", str(user))) == 3
    await standin.wait_for(lambda: len(_answers(standin, user)) >= 3, 20, "swept replies")
    await asyncio.sleep(0.5)
    assert _answers(standin, user) == ["/k0", "/k1", "/k2"]
    assert await deps.redis.zcard(deps.keys.inboxes("telegram")) == 0
