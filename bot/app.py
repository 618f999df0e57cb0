"""One place owns the lifecycle: store, deps, channels, web server; torn down in reverse."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Sequence
from typing import TextIO

from aiohttp import web
from redis.asyncio import Redis

from bot.channels.console import CHANNEL as CONSOLE
from bot.channels.console import ConsoleChannel, ConsoleSender, stdin_lines
from bot.channels.ordered import ordered_telegram
from bot.channels.telegram import CHANNEL as TELEGRAM
from bot.channels.telegram import App, TelegramChannel, TelegramSender, build_application
from bot.channels.webhook import ORDERED, build_web_app, telegram_path
from bot.delivery.queue import DeliveryQueue
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.runner import Service, running
from bot.delivery.schedule import Scheduler, by_kind
from bot.delivery.sender import Sender
from bot.delivery.worker import Worker
from bot.demo import ADMIN_ACCOUNT, DEMO_PREFIX, load_demo
from bot.deps import Deps, Links, build_deps
from bot.dispatcher import Dispatcher
from bot.keys import Keys
from bot.metrics import MeteredRateLimiter, MeteredSender
from bot.opsweb import add_ops_routes, ops_server
from bot.settings import Settings
from bot.storage.connection import open_store
from handlers import build_router

log = logging.getLogger("dvbot.app")

ALLOWED_UPDATES = ["message", "callback_query"]


def make_deps(settings: Settings, redis: Redis, *, prefix: str = "dv",
              username: str | None = None) -> Deps:
    """Deps for the real namespace (or the demo one)."""
    links = Links(telegram_username=username or settings.telegram_bot_username)
    return build_deps(settings, redis, Keys(prefix), links)


async def run_console(settings: Settings, *, demo: bool, stdin: TextIO = sys.stdin,
                      stdout: TextIO = sys.stdout) -> None:
    """`dvbot console`: read lines, print replies, stop at end of input (or Ctrl-C, SIGTERM)."""
    task = asyncio.current_task()
    assert task is not None
    # asyncio.run turns Ctrl-C into a cancellation; do the same for SIGTERM so the embedded
    # store is shut down cleanly either way.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    async with open_store(settings) as redis:
        deps = make_deps(settings, redis, prefix=DEMO_PREFIX if demo else "dv")
        dispatcher = Dispatcher(build_router(), deps)
        user_id = "local"
        if demo:
            await load_demo(deps, settings.content_path() / "demo")
            user_id = ADMIN_ACCOUNT
            stdout.write("Chế độ demo: dữ liệu mẫu, tách biệt với dữ liệu thật. "
                         "Đồng chí đang đăng nhập với vai trò Quản trị.\n\n")
        console = ConsoleChannel(dispatcher, stdout, user_id=user_id, prompt=stdin.isatty())
        senders: list[tuple[Sender, RateLimiter | None]] = [
            (ConsoleSender(stdout), None), (ConsoleSender(stdout, "demo", show=False), None)]
        async with running(*delivery_services(deps, senders)):
            await console.run(stdin_lines(stdin), first="/menu" if demo else "/start")
            await settle(deps, [CONSOLE, "demo"])


async def run_bot(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """`dvbot run`: Telegram by long polling, or by webhook when DVBOT_WEBHOOK_URL is set.

    Runs until `stop` is set; without one, until SIGINT or SIGTERM.
    """
    token = settings.require_telegram()
    secret = settings.require_webhook_secret() if settings.webhook_url else None
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    async with open_store(settings) as redis:
        application = build_application(token, settings.telegram_api_url,
                                        polling=secret is None)
        async with application:
            username = application.bot.username
            deps = make_deps(settings, redis, username=username)
            router = build_router()
            channel = TelegramChannel(application, Dispatcher(router, deps))
            await channel.register_commands(router.bot_commands())
            await application.start()
            senders = [(TelegramSender(application.bot), telegram_limiter(deps, token))]
            log.info("dvbot is running as @%s (%s)", username,
                     "webhook" if secret else "long polling")
            try:
                async with running(*delivery_services(deps, senders)):
                    if secret is None:
                        async with ops_server(deps, [TELEGRAM]):  # issue 8: /healthz, /metrics
                            await _poll(application, stop)
                    else:
                        await _serve_webhook(settings, deps, channel, secret, stop)
            finally:
                await application.stop()
    log.info("dvbot stopped")


async def _poll(application: App, stop: asyncio.Event) -> None:
    assert application.updater is not None
    await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
    try:
        await stop.wait()
    finally:
        await application.updater.stop()


async def _serve_webhook(settings: Settings, deps: Deps, channel: TelegramChannel,
                         secret: str, stop: asyncio.Event) -> None:
    app = build_web_app(deps.redis, deps.conversations, channel, secret)
    add_ops_routes(app, deps, [TELEGRAM])  # issue 8: /metrics, per-account order across workers
    app[ORDERED] = ordered_telegram(channel, deps.redis, deps.keys)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    try:
        url = f"{settings.webhook_url}{telegram_path(secret)}"
        await channel.application.bot.set_webhook(url, secret_token=secret,
                                                  allowed_updates=ALLOWED_UPDATES)
        log.info("webhook set; listening on %s:%s", settings.http_host, settings.http_port)
        await stop.wait()
    finally:
        await runner.cleanup()


# --- bulk delivery (issue 6): sender workers and the scheduler in each process ---------------
async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """`dvbot worker`: only send (broadcasts, notices) — extra sender processes for one token."""
    token = settings.require_telegram()
    if stop is None:
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    async with open_store(settings) as redis:
        application = build_application(token, settings.telegram_api_url, polling=False)
        async with application:
            deps = make_deps(settings, redis, username=application.bot.username)
            senders = [(TelegramSender(application.bot), telegram_limiter(deps, token))]
            async with running(*delivery_services(deps, senders)):
                log.info("dvbot sender worker running (%d senders)", settings.sender_workers)
                await stop.wait()
    log.info("dvbot worker stopped")


def telegram_limiter(deps: Deps, token: str) -> RateLimiter:
    """The shared limiter of this bot token (keyed by the bot id, never the secret)."""
    settings = deps.settings
    # A sender holds its claim while it waits for a slot: keep that well inside the lease.
    return MeteredRateLimiter(deps.redis, deps.keys, f"telegram:{token.split(':', 1)[0]}",
                              metrics=deps.metrics, rate=settings.telegram_rate,
                              paid_rate=settings.telegram_paid_rate,
                              horizon=min(5.0, settings.sender_lease_seconds / 3))


def delivery_services(deps: Deps,
                      senders: Sequence[tuple[Sender, RateLimiter | None]]) -> list[Service]:
    """Sender workers for each channel, plus the scheduler, for `running(...)`."""
    settings = deps.settings
    consumer = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    services: list[Service] = []
    for sender, limiter in senders if settings.sender_workers > 0 else []:
        queue = DeliveryQueue(deps.redis, deps.keys, sender.channel, consumer,
                              lease=settings.sender_lease_seconds)
        worker = Worker(queue, MeteredSender(sender, deps.metrics), limiter,
                        concurrency=settings.sender_workers,
                        on_done=deps.broadcasts.notify_author)
        services.append(worker.run)
    fire = by_kind({"bc": deps.broadcasts.fire})
    services.append(Scheduler(deps.redis, deps.keys, fire, deps.clock).run)
    return services


async def settle(deps: Deps, channels: list[str], timeout: float = 3.0) -> None:  # noqa: ASYNC109
    """Give deliveries due now a moment to go out before the console exits (piped demos)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        due = await deps.redis.zcount(deps.keys.jobs_due(), "-inf", deps.clock().timestamp())
        firing = await deps.redis.zcard(deps.keys.jobs_firing())
        active = [await deps.redis.zcard(deps.keys.jobs_active(c)) for c in channels]
        if not (due or firing or any(active)):
            return
        await asyncio.sleep(0.1)
