"""Builds the Zalo channels a deployment configured, for `bot.app.run_bot` to run.

Kept out of app.py so the lifecycle there stays one short list: each Zalo channel contributes
background services (its inbox, the long poller), outbox senders with their own shared rate
limiter, routes on the webhook server, and a step to run once that server listens.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from bot.channels import zalo_bot, zalo_oa, zalo_oa_client
from bot.channels.zalo_common import FileLinks
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.runner import Service
from bot.delivery.sender import Sender
from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.ops.metrics import MeteredRateLimiter
from bot.settings import Settings

log = logging.getLogger("dvbot.zalo")


@dataclass
class ZaloParts:
    """What the configured Zalo channels add to a `dvbot run` process."""

    services: list[Service] = field(default_factory=list)
    senders: list[tuple[Sender, RateLimiter | None]] = field(default_factory=list)
    routes: list[Callable[[web.Application], None]] = field(default_factory=list)
    when_serving: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def file_links(settings: Settings) -> FileLinks | None:
    """Signed links to stored files, when a Zalo channel runs and this server is reachable
    from outside (DVBOT_PUBLIC_URL or the webhook's origin) with a secret to sign them."""
    if not (settings.has_zalo_bot() or settings.has_zalo_oa()):
        return None  # Telegram uploads files itself
    base = settings.file_base_url()
    key = settings.webhook_secret or settings.zalo_oa_secret_key
    if base is None:
        return None
    if key is None:
        log.warning("DVBOT_PUBLIC_URL is set but DVBOT_WEBHOOK_SECRET is not: files sent on "
                    "Zalo go as notes instead of links")
        return None
    secret = hashlib.sha256(f"dvbot-files:{key.get_secret_value()}".encode()).digest()
    return FileLinks(base, settings.data_dir / "files", secret)


def limiter(deps: Deps, name: str, rate: float) -> RateLimiter:
    """A Zalo channel's own limiter, in Redis like Telegram's (keyed by id, never a secret);
    its waits are counted in /metrics like Telegram's. Its senders are metered
    where every sender is: bot.app.delivery_services."""
    return MeteredRateLimiter(deps.redis, deps.keys, name, metrics=deps.metrics, rate=rate,
                              horizon=min(5.0, deps.settings.sender_lease_seconds / 3))


async def zalo_parts(settings: Settings, deps: Deps, dispatcher: Dispatcher,
                     session: aiohttp.ClientSession, files: FileLinks | None) -> ZaloParts:
    """Build every Zalo channel the settings name."""
    parts = ZaloParts()
    if settings.has_zalo_bot():
        await _bot_platform(settings, deps, dispatcher, session, files, parts)
    if settings.has_zalo_oa():
        await _official_account(settings, deps, dispatcher, session, files, parts)
    return parts


async def _bot_platform(settings: Settings, deps: Deps, dispatcher: Dispatcher,
                  session: aiohttp.ClientSession, files: FileLinks | None,
                  parts: ZaloParts) -> None:
    assert settings.zalo_bot_token is not None
    client = zalo_bot.ZaloBotClient(session, settings.zalo_bot_token.get_secret_value(),
                                    settings.zalo_bot_api_url)
    shared = limiter(deps, f"zalo:{client.bot_id}", settings.zalo_rate)
    channel = zalo_bot.ZaloBotChannel(client, dispatcher, files, shared)
    parts.services.append(channel.inbox.run)
    parts.senders.append((zalo_bot.ZaloBotSender(client, deps.conversations, files), shared))
    if settings.webhook_url is None:
        try:  # getUpdates fails while a webhook is set
            await client.call("deleteWebhook")
        except zalo_bot.ZaloBotError as exc:
            log.warning("Zalo Bot Platform: deleteWebhook failed: %s", exc)
        parts.services.append(channel.poll)
        log.info("Zalo Bot Platform: long polling")
        return
    secret = settings.require_webhook_secret()
    webhook_url = settings.webhook_url
    parts.routes.append(lambda app: channel.add_routes(app, secret))
    parts.when_serving.append(lambda: channel.set_webhook(webhook_url, secret))


async def _official_account(settings: Settings, deps: Deps, dispatcher: Dispatcher,
                            session: aiohttp.ClientSession, files: FileLinks | None,
                            parts: ZaloParts) -> None:
    assert settings.zalo_oa_app_id and settings.zalo_oa_app_secret
    assert settings.zalo_oa_secret_key and settings.zalo_oa_refresh_token
    app_id = settings.zalo_oa_app_id
    tokens = zalo_oa_client.TokenStore(deps.redis, deps.keys, app_id)
    access = settings.zalo_oa_access_token
    await tokens.seed(zalo_oa_client.Tokens(
        access_token=access.get_secret_value() if access else "",
        refresh_token=settings.zalo_oa_refresh_token.get_secret_value()))
    client = zalo_oa_client.ZaloOaClient(session, tokens, app_id=app_id,
                                  app_secret=settings.zalo_oa_app_secret.get_secret_value(),
                                  api_url=settings.zalo_oa_api_url,
                                  oauth_url=settings.zalo_oa_oauth_url)
    secret_key = settings.zalo_oa_secret_key.get_secret_value()
    channel = zalo_oa.ZaloOaChannel(client, dispatcher, app_id=app_id, secret_key=secret_key,
                                    files=files)
    parts.services.append(channel.inbox.run)
    parts.senders.append((zalo_oa.ZaloOaSender(client, deps.conversations, files),
                          limiter(deps, f"zalo_oa:{app_id}", settings.zalo_oa_rate)))
    parts.routes.append(channel.add_routes)
    log.info("Zalo OA: register the webhook path %s in the Zalo developer console",
             zalo_oa.webhook_path(secret_key))
