"""One place owns the lifecycle: store, deps, channels, web server; torn down in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from typing import TextIO

import aiohttp
from redis.asyncio import Redis

from bot.channels.console import CHANNEL as CONSOLE
from bot.channels.console import ConsoleChannel, ConsoleSender, stdin_lines
from bot.channels.http_guard import Limits, guard, guarded_runner, listen
from bot.channels.telegram import CHANNEL as TELEGRAM
from bot.channels.telegram import TelegramBot, TelegramChannel, build_bot
from bot.channels.telegram_ordered import ordered_telegram
from bot.channels.telegram_polling import Poller
from bot.channels.telegram_send import TelegramSender
from bot.channels.telegram_start import initialized
from bot.channels.webhook import HEALTH, ORDERED, build_web_app, telegram_path
from bot.channels.zalo_bot import CHANNEL as ZALO_BOT
from bot.channels.zalo_common import FileLinks, add_file_route
from bot.channels.zalo_oa import CHANNEL as ZALO_OA
from bot.channels.zalo_wiring import ZaloParts, file_links, zalo_parts
from bot.delivery.queue import DeliveryQueue
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.reroute import Rerouter
from bot.delivery.runner import Service, running
from bot.delivery.schedule import Scheduler, by_kind
from bot.delivery.sender import Sender
from bot.delivery.worker import Worker
from bot.demo import ADMIN, DEMO_PREFIX, Roleplay, console_account, load_demo, reset_demo
from bot.deps import Deps, Links, build_deps
from bot.engine.dispatcher import Dispatcher
from bot.ops.metrics import MeteredRateLimiter, MeteredSender
from bot.ops.web import add_ops_routes, ops_server
from bot.org.access import is_staff
from bot.privacy.files import ExportSweeper
from bot.settings import Settings
from bot.storage.connection import open_store
from bot.storage.keys import Keys
from bot.surveys.lifecycle import SurveyTimes
from bot.tamtu.escalation import jobs as tamtu_jobs
from bot.web.links import sign_in_url
from bot.web.sessions import WebSessions
from handlers import build_router

log = logging.getLogger("dvbot.app")

ALLOWED_UPDATES = ["message", "callback_query"]


def make_deps(settings: Settings, redis: Redis, *, prefix: str = "dv",
              username: str | None = None) -> Deps:
    """Deps for the real namespace (or the demo one)."""
    links = Links(telegram_username=username or settings.telegram_bot_username)
    return build_deps(settings, redis, Keys(prefix), links)


async def run_console(settings: Settings, *, demo: bool, stdin: TextIO = sys.stdin,
                      stdout: TextIO = sys.stdout, person: str = ADMIN,
                      reset: bool = False, web: bool = False) -> None:
    """`dvbot console`: read lines, print replies, stop at end of input (or Ctrl-C, SIGTERM).
    In demo mode `person` is who signs in (`--as`), `reset` starts from fresh demo data."""
    task = asyncio.current_task()
    assert task is not None
    # asyncio.run turns Ctrl-C into a cancellation; do the same for SIGTERM so the embedded
    # store is shut down cleanly either way.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    async with open_store(settings) as redis:
        deps = make_deps(settings, redis, prefix=DEMO_PREFIX if demo else "dv")
        dispatcher = Dispatcher(build_router(), deps)
        console = ConsoleChannel(dispatcher, stdout, prompt=stdin.isatty(),
                                 files=settings.data_dir / "console-files")
        if demo:
            await start_demo(console, deps, settings, person=person, reset=reset)
        senders: list[tuple[Sender, RateLimiter | None]] = [
            (ConsoleSender(stdout, conversations=deps.conversations,
                           watching=lambda: console.user_id,
                           files=settings.data_dir / "console-files"), None),
            (ConsoleSender(stdout, "demo", show=False), None)]
        async with running(*delivery_services(deps, senders)), (
                ops_server(deps, []) if web else contextlib.nullcontext()):
            if web:
                await _print_web_link(deps, console.user_id, stdout)
            try:
                # A dialog left open (a half-filled form) is resumed, never covered by /menu.
                resumed = await console.resume()
                first = None if resumed else "/menu" if demo else "/start"
                await console.run(stdin_lines(stdin), first=first)
                await settle(deps, [CONSOLE, "demo"])
            finally:
                await deps.conversations.settle()


async def start_demo(console: ConsoleChannel, deps: Deps, settings: Settings, *, person: str,
                     reset: bool) -> None:
    """Load (or reset and load) the demo, sign `person` in, and enable /dongvai."""
    if reset:
        await reset_demo(deps.redis)
    folder = settings.content_path() / "demo"
    member = await load_demo(deps, folder, person)
    console.user_id = console_account(person)
    roleplay = Roleplay(console, deps, folder)
    console.intercept = roleplay.line
    roles = ", ".join(dict.fromkeys(g.role.label for g in member.grants)) or "Đảng viên"
    console.write("Chế độ dùng thử: dữ liệu mẫu, tách biệt với dữ liệu thật"
                  + (" (vừa được làm mới)" if reset else "")
                  + f". Đồng chí đang đăng nhập là {member.name} ({roles}). "
                  "Gõ /dongvai để đổi sang người mẫu khác.")


async def _print_web_link(deps: Deps, user_id: str, stdout: TextIO) -> None:
    """`dvbot console --web`: the dashboard runs beside the console; sign the person in."""
    member = await deps.members.by_account(CONSOLE, user_id)
    if member is None or not is_staff(member):
        stdout.write("Bảng điều khiển đang chạy; gửi /web sau khi đăng ký với vai trò cán bộ.\n\n")
        return
    token = await WebSessions(deps.redis, deps.keys).issue_link(member.id)
    stdout.write(f"Bảng điều khiển: mở {sign_in_url(deps.settings, token)} trong trình duyệt "
                 "(dùng một lần, trong 10 phút).\n\n")


async def run_bot(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """`dvbot run`: every configured channel (Telegram, Zalo Bot Platform, Zalo OA) in one
    process. Telegram and the Zalo bot poll, or take webhooks on one aiohttp server when
    DVBOT_WEBHOOK_URL is set; the Zalo OA always takes webhooks there.

    Runs until `stop` is set; without one, until SIGINT or SIGTERM.
    """
    settings.require_channel()
    secret = settings.require_webhook_secret() if settings.webhook_url else None
    serve = secret is not None or settings.has_zalo_oa()
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    async with open_store(settings) as redis, contextlib.AsyncExitStack() as stack:
        bot = await _telegram(settings, stack)
        username = bot.username if bot is not None else None
        deps = make_deps(settings, redis, username=username)
        stack.push_async_callback(deps.conversations.settle)  # after the last update
        router = build_router()
        dispatcher = Dispatcher(router, deps)
        senders: list[tuple[Sender, RateLimiter | None]] = []
        channel = None
        if bot is not None:
            channel = TelegramChannel(bot, dispatcher)
            await channel.register_commands(router.bot_commands())
            stack.push_async_callback(channel.stop)  # the updates in progress finish
            senders.append((TelegramSender(bot),
                            telegram_limiter(deps, settings.require_telegram())))
        # --- Zalo ---
        session = await stack.enter_async_context(aiohttp.ClientSession())
        files = file_links(settings) if serve or settings.public_url else None
        serve = serve or files is not None  # files for Zalo need the server even when polling
        zalo = await zalo_parts(settings, deps, dispatcher, session, files)
        log.info("dvbot is running%s (%s)", f" as @{username}" if username else "",
                 "webhook" if secret else "long polling")
        async with running(*delivery_services(deps, [*senders, *zalo.senders]),
                           *zalo.services):
            if channel is not None and secret is None:
                poller = Poller(channel.bot, channel.take, ALLOWED_UPDATES)
                await stack.enter_async_context(poller.running())
            if serve:
                await stack.enter_async_context(_web_server(
                    settings, deps, channel if secret else None, secret or "", zalo, files))
            else:  # /healthz and /metrics in polling mode too
                await stack.enter_async_context(ops_server(deps, channel_names(settings)))
            await stop.wait()
    log.info("dvbot stopped")


def channel_names(settings: Settings) -> list[str]:
    """The chat channels this process runs, for the queue lengths in /metrics."""
    configured = ((TELEGRAM, settings.has_telegram()), (ZALO_BOT, settings.has_zalo_bot()),
                  (ZALO_OA, settings.has_zalo_oa()))
    return [name for name, present in configured if present]


async def _telegram(settings: Settings, stack: contextlib.AsyncExitStack) -> TelegramBot | None:
    """The initialized PTB Bot (sending only), when a Telegram token is configured."""
    if not settings.has_telegram():
        return None
    bot = build_bot(settings.require_telegram(), settings.telegram_api_url)
    return await stack.enter_async_context(initialized(bot, settings.telegram_api_url))


@contextlib.asynccontextmanager
async def _web_server(settings: Settings, deps: Deps, channel: TelegramChannel | None,
                      secret: str, zalo: ZaloParts,
                      files: FileLinks | None) -> AsyncIterator[None]:
    app = build_web_app(deps.redis, deps.conversations, channel, secret)
    add_ops_routes(app, deps, channel_names(settings))  # /metrics
    ordered = None
    if channel is not None:  # per-account order across workers behind a balancer
        ordered = app[ORDERED] = ordered_telegram(channel, deps.redis, deps.keys,
                                                    deps.sealer)
    for add_routes in zalo.routes:
        add_routes(app)
    app[HEALTH] = [*app.get(HEALTH, []), *zalo.health]  # Zalo trouble an operator must fix
    if files is not None:
        add_file_route(app, files)
    limits = Limits.of(settings)
    guard(app, limits)  # slow headers, slow bodies, too many connections
    runner = guarded_runner(app, limits)
    await runner.setup()
    listener = await listen(runner, settings.http_host, settings.http_port, limits)
    try:
        if channel is not None:
            url = f"{settings.webhook_url}{telegram_path(secret)}"
            await channel.bot.set_webhook(url, secret_token=secret,
                                          allowed_updates=ALLOWED_UPDATES)
        for step in zalo.when_serving:
            await step()
        log.info("webhook server listening on %s:%s", settings.http_host, settings.http_port)
        # drain the inboxes a killed worker left behind
        async with ordered.sweeping() if ordered else contextlib.nullcontext():
            yield
    finally:
        listener.close()
        await runner.cleanup()


# --- bulk delivery: sender workers and the scheduler in each process ---------------
async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """`dvbot worker`: only send (broadcasts, notices) — extra sender processes for one token."""
    token = settings.require_telegram()
    if stop is None:
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    async with open_store(settings) as redis:
        bot = build_bot(token, settings.telegram_api_url)
        async with initialized(bot, settings.telegram_api_url):
            deps = make_deps(settings, redis, username=bot.username)
            senders = [(TelegramSender(bot), telegram_limiter(deps, token))]
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
    reroute = Rerouter(deps.members, deps.broadcasts.reach, deps.outbox, deps.clock)
    for sender, limiter in senders if settings.sender_workers > 0 else []:
        queue = DeliveryQueue(deps.redis, deps.keys, sender.channel, consumer,
                              lease=settings.sender_lease_seconds, sealer=deps.sealer)
        worker = Worker(queue, MeteredSender(sender, deps.metrics), limiter,
                        concurrency=settings.sender_workers,
                        on_done=deps.tamtu.notifier.after(deps.broadcasts.notify_author),
                        reroute=reroute)
        services.append(worker.run)
    fire = by_kind({"bc": deps.broadcasts.fire,
                    **SurveyTimes(deps).jobs(),  # survey opening/closing times
                    **tamtu_jobs(deps.tamtu, deps.units, deps.clock),  # tâm tư
                    **deps.rewrites.jobs(deps.clock)})  # AOF rewrites (after the surveys')
    services.append(Scheduler(deps.redis, deps.keys, fire, deps.clock).run)
    services.append(ExportSweeper(settings.data_dir / "exports").run)  # exports expire
    return services


async def settle(deps: Deps, channels: list[str], timeout: float = 10.0) -> None:  # noqa: ASYNC109
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
