"""`bot.app.run_bot` running with Zalo channels against the local stand-ins, over real HTTP."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bot.app import make_deps, run_bot
from bot.deps import Deps
from bot.org.models import Invite, Role
from bot.settings import Settings
from tests.conftest import UNITS
from tests.standin.zalo_bot import ZaloBotStandin

ZALO_TOKEN = "7771234:ZaloS3cretTokenForTests"


def zalo_settings(valkey_url: str, data_dir: Path, **extra: Any) -> Settings:
    """Settings with no Telegram token (no .env read)."""
    return Settings(_env_file=None, redis_url=valkey_url, data_dir=data_dir,  # type: ignore[call-arg]
                    **extra)


class Running:
    """run_bot as a task; `stop()` ends it and re-raises whatever it crashed with."""

    def __init__(self, settings: Settings, deps: Deps) -> None:
        self.settings = settings
        self.deps = deps
        self._stop = asyncio.Event()
        self.task = asyncio.create_task(run_bot(settings, stop=self._stop))

    async def stop(self) -> None:
        """Stop and wait."""
        self._stop.set()
        await asyncio.wait_for(self.task, 15)

    async def invite(self, unit: str = "cb-a1", role: Role = Role.MEMBER) -> Invite:
        """A fresh invite code."""
        from datetime import UTC, datetime
        return await self.deps.invites.create(unit=unit, role=role, created_by="test",
                                              max_uses=5, days=14, now=datetime.now(UTC))


async def start(settings: Settings, redis: Redis) -> Running:
    """Import the test units and start run_bot."""
    deps = make_deps(settings, redis)
    await deps.units.import_units(UNITS)
    return Running(settings, deps)


async def start_polling(standin: ZaloBotStandin, redis: Redis, valkey_url: str, data_dir: Path,
                        **extra: Any) -> Running:
    """run_bot with only the Zalo bot, long polling the stand-in; returns once it polls."""
    settings = zalo_settings(valkey_url, data_dir, zalo_bot_token=ZALO_TOKEN,
                             zalo_bot_api_url=standin.url, **extra)
    bot = await start(settings, redis)
    await standin.wait_call("getUpdates")
    return bot


async def say_as(standin: ZaloBotStandin, user: str, text: str, count: int = 1) -> str:
    """`user` types `text`; the bot's answer (all `count` messages) as one string."""
    standin.user_sends(user, text)
    return "\n".join(m.text for m in await standin.wait_sent(user, count))


def number_of(text: str, label: str) -> str:
    """What to type for the option containing `label` in `text`: "2" for "2. Label", or "#2"
    for "#2 Label" (a screen that asks for text lists its buttons with the # prefix)."""
    found = [m.group(1) for m in re.finditer(r"^(\d+)\. (.*)$", text, re.M)
             if label in m.group(2)]
    found += [m.group(1) for m in re.finditer(r"^(#\d+) (.*)$", text, re.M)
              if label in m.group(2)]
    assert len(found) == 1, f"{label!r} in:\n{text}"
    return found[0]
