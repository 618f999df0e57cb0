"""Run the real start-up path (`bot.app.run_bot`) against the local Bot API stand-in.

`live_bot` starts run_bot in long-polling mode; `webhook_bot` starts it in webhook mode. Both
yield a `LiveBot`: the stand-in, a `deps` on the same Redis namespace ("dv") as run_bot, and
helpers to act as a Telegram user and wait for what the bot answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.app import make_deps, run_bot
from bot.deps import Deps
from bot.org.models import Invite, Member, Role
from bot.settings import Settings
from tests.conftest import UNITS, free_port, make_member
from tests.standin.botapi import BotApiStandin, SentMessage

TOKEN = "5550123:AAHs3cr3t-Token_ForDvbotTests"
USERNAME = "dvbot_test_bot"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0


class LiveBot:
    """`run_bot` running as a task against the stand-in, plus helpers for tests."""

    def __init__(self, standin: BotApiStandin, settings: Settings, deps: Deps) -> None:
        self.standin = standin
        self.settings = settings
        self.deps = deps
        self.task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    @property
    def webhook(self) -> bool:
        """True when run_bot was configured for webhook mode."""
        return self.settings.webhook_url is not None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Start run_bot and wait until it has published its commands (or set its webhook)."""
        assert self.task is None, "already running"
        self._stop = asyncio.Event()
        self.task = asyncio.create_task(run_bot(self.settings, stop=self._stop))
        await self._until_call("setMyCommands")
        if self.webhook:
            # setWebhook is called once the aiohttp site is listening.
            await self._until_call("setWebhook")

    async def stop(self) -> None:
        """Ask run_bot to stop and wait for it; re-raises whatever it crashed with."""
        task, self.task = self.task, None
        if task is None:
            return
        self._stop.set()
        await asyncio.wait_for(task, STOP_TIMEOUT)

    async def restart(self) -> None:
        """Stop run_bot and start it again (same settings, same Redis, same stand-in)."""
        await self.stop()
        await self.start()

    def running(self) -> bool:
        """True while the run_bot task is alive."""
        return self.task is not None and not self.task.done()

    async def _until_call(self, method: str) -> None:
        """Wait for the next call of `method`, failing fast if run_bot dies first."""
        assert self.task is not None
        waiter = asyncio.ensure_future(self.standin.wait_call(method, timeout=START_TIMEOUT))
        done, _ = await asyncio.wait({waiter, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
            self.task.result()  # raises run_bot's exception, if any
            raise AssertionError(f"run_bot returned before calling {method}")
        waiter.result()

    # ------------------------------------------------------------ acting as users
    async def send(self, user_id: int, text: str, count: int = 1,
                   timeout: float = 5.0) -> list[SentMessage]:  # noqa: ASYNC109
        """User sends `text`; return the next `count` sends/edits to their chat."""
        self.standin.user_sends(user_id, text)
        return await self.standin.wait_sent(user_id, count, timeout=timeout)

    async def send_update(self, user_id: int, update: dict[str, Any], count: int = 1,
                          timeout: float = 5.0) -> list[SentMessage]:  # noqa: ASYNC109
        """Queue a raw update (built with the stand-in's make_* helpers) and wait for replies."""
        self.standin.queue_update(update)
        return await self.standin.wait_sent(user_id, count, timeout=timeout)

    async def press(self, user_id: int, message: SentMessage, data: str, count: int = 1,
                    timeout: float = 5.0) -> list[SentMessage]:  # noqa: ASYNC109
        """User presses a button with callback `data` on `message`; return the replies/edits."""
        self.standin.user_presses(user_id, message, data)
        return await self.standin.wait_sent(user_id, count, timeout=timeout)

    # ------------------------------------------------------------------- data
    async def register(self, user_id: int, *, unit: str = "cb-a1",
                       name: str = "Nguyễn Văn Thử",
                       grants: tuple[tuple[Role, str], ...] = ()) -> Member:
        """Register a Telegram member directly (bypassing onboarding)."""
        return await make_member(self.deps, channel="telegram", user_id=str(user_id),
                                 unit=unit, name=name, grants=grants)

    async def member(self, user_id: int) -> Member | None:
        """The member behind a Telegram account, as run_bot stored it."""
        return await self.deps.members.by_account("telegram", str(user_id))

    async def invite(self, unit: str = "cb-a1", role: Role = Role.MEMBER, *, max_uses: int = 5,
                     days: int = 14, now: datetime | None = None) -> Invite:
        """Create an invite directly (run_bot uses the real clock)."""
        return await self.deps.invites.create(unit=unit, role=role, created_by="test",
                                              max_uses=max_uses, days=days,
                                              now=now or datetime.now(UTC))


def button_data(message: SentMessage, label: str) -> str:
    """Callback data of the button whose label contains `label` (exactly one must match)."""
    found = [data for row in BotApiStandin.buttons(message) for text, data in row
             if label in text]
    assert len(found) == 1, f"{label!r} in {BotApiStandin.buttons(message)}"
    return found[0]


def text(message: SentMessage) -> str:
    """The text (or caption) of a bot message; fails if it has none."""
    assert message.text is not None, message
    return message.text


def labels(message: SentMessage) -> list[str]:
    """All button labels of a message, in order."""
    return [text for row in BotApiStandin.buttons(message) for text, _data in row]


def live_settings(standin: BotApiStandin, valkey_url: str, data_dir: Path,
                  **extra: Any) -> Settings:
    """Settings pointing run_bot at the stand-in and the session's Valkey (no .env read)."""
    return Settings(_env_file=None, telegram_token=standin.token,
                    telegram_api_url=standin.url, redis_url=valkey_url, data_dir=data_dir,
                    **extra)


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandin]:
    """A Bot API stand-in with the fake token."""
    async with BotApiStandin(token=TOKEN, username=USERNAME) as server:
        yield server


async def _live(standin: BotApiStandin, settings: Settings, redis: Redis
                ) -> AsyncIterator[LiveBot]:
    deps = make_deps(settings, redis)
    await deps.units.import_units(UNITS)
    bot = LiveBot(standin, settings, deps)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


@pytest.fixture
async def live_bot(standin: BotApiStandin, redis: Redis, valkey_url: str,
                   tmp_path: Path) -> AsyncIterator[LiveBot]:
    """run_bot in long-polling mode, started and ready."""
    settings = live_settings(standin, valkey_url, tmp_path / "data")
    async for bot in _live(standin, settings, redis):
        yield bot


@pytest.fixture
async def webhook_bot(standin: BotApiStandin, redis: Redis, valkey_url: str,
                      tmp_path: Path) -> AsyncIterator[LiveBot]:
    """run_bot in webhook mode on 127.0.0.1:<free port>, started and ready."""
    settings = live_settings(standin, valkey_url, tmp_path / "data",
                             webhook_url="https://bot.example.org",
                             webhook_secret=secrets.token_urlsafe(24),
                             http_host="127.0.0.1", http_port=free_port())
    async for bot in _live(standin, settings, redis):
        yield bot
