"""Builds the Zalo channels a deployment configured, for `bot.app.run_bot` to run.

Kept out of app.py so the lifecycle there stays one short list: each Zalo channel contributes
background services (its inbox, the long poller), outbox senders with their own shared rate
limiter, routes on the webhook server, and a step to run once that server listens.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from bot.channels import zalo_bot, zalo_oa, zalo_oa_client
from bot.channels.zalo_admin import token_alert
from bot.channels.zalo_bot_client import ZaloBotClient, ZaloBotError
from bot.channels.zalo_bot_sender import ZaloBotSender
from bot.channels.zalo_common import FileLinks
from bot.channels.zalo_oa_sender import ZaloOaSender
from bot.channels.zalo_oa_tokens import TokenKeeper, TokenStore
from bot.channels.zalo_verify import add_verifier_route
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
    health: list[Callable[[], Awaitable[dict[str, str]]]] = field(default_factory=list)


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
    if settings.zalo_verifier_file is not None:
        verifier = settings.zalo_verifier_file
        parts.routes.append(lambda app: add_verifier_route(app, verifier))
    return parts


def zalo_bot_secret(settings: Settings) -> str:
    """The secret the Zalo Bot Platform sends with webhook calls: its own setting, or derived
    one-way from DVBOT_WEBHOOK_SECRET, so whoever sees the Zalo bot's configuration cannot
    authenticate Telegram updates."""
    if settings.zalo_bot_webhook_secret is not None:
        return settings.zalo_bot_webhook_secret.get_secret_value()
    base = settings.require_webhook_secret()
    return hashlib.sha256(f"dvbot-zalo-bot-webhook:{base}".encode()).hexdigest()[:48]


async def _bot_platform(settings: Settings, deps: Deps, dispatcher: Dispatcher,
                        session: aiohttp.ClientSession, files: FileLinks | None,
                        parts: ZaloParts) -> None:
    assert settings.zalo_bot_token is not None
    client = ZaloBotClient(session, settings.zalo_bot_token.get_secret_value(),
                           settings.zalo_bot_api_url)
    shared = limiter(deps, f"zalo:{client.bot_id}", settings.zalo_rate)
    channel = zalo_bot.ZaloBotChannel(client, dispatcher, files, shared)
    parts.services.append(channel.inbox.run)
    parts.senders.append((ZaloBotSender(client, deps.conversations, deps.broadcasts.reach,
                                        files, clock=deps.clock), shared))
    if settings.webhook_url is None:
        try:  # getUpdates fails while a webhook is set
            await client.call("deleteWebhook")
        except ZaloBotError as exc:
            log.warning("Zalo Bot Platform: deleteWebhook failed: %s", exc)
        parts.services.append(channel.poll)
        log.warning("Zalo Bot Platform: long polling, which Zalo documents for development "
                    "only (messages sent while nobody polls can be lost); in production set "
                    "DVBOT_WEBHOOK_URL so that `dvbot run` registers the webhook")
        return
    secret = zalo_bot_secret(settings)
    webhook_url = settings.webhook_url
    parts.routes.append(lambda app: channel.add_routes(app, secret))
    parts.when_serving.append(lambda: channel.set_webhook(webhook_url, secret))


async def _official_account(settings: Settings, deps: Deps, dispatcher: Dispatcher,
                            session: aiohttp.ClientSession, files: FileLinks | None,
                            parts: ZaloParts) -> None:
    assert settings.zalo_oa_app_id and settings.zalo_oa_app_secret
    assert settings.zalo_oa_secret_key and settings.zalo_oa_refresh_token
    app_id = settings.zalo_oa_app_id
    tokens = TokenStore(deps.redis, deps.keys, app_id, alert=token_alert(deps))
    access = settings.zalo_oa_access_token
    await tokens.seed(access.get_secret_value() if access else "",
                      settings.zalo_oa_refresh_token.get_secret_value(), time.time())
    client = zalo_oa_client.ZaloOaClient(session, tokens, app_id=app_id,
                                         app_secret=settings.zalo_oa_app_secret.get_secret_value(),
                                         api_url=settings.zalo_oa_api_url,
                                         oauth_url=settings.zalo_oa_oauth_url)
    secret_key = settings.zalo_oa_secret_key.get_secret_value()
    channel = zalo_oa.ZaloOaChannel(client, dispatcher, app_id=app_id, secret_key=secret_key,
                                    files=files)
    parts.services += [channel.inbox.run, TokenKeeper(tokens, client.renew).run]
    parts.senders.append((ZaloOaSender(client, deps.conversations, files),
                          limiter(deps, f"zalo_oa:{app_id}", settings.zalo_oa_rate)))
    parts.routes.append(channel.add_routes)
    parts.health.append(lambda: _token_health(tokens))
    log.info("Zalo OA: register the webhook path %s in the Zalo developer console",
             zalo_oa.webhook_path(secret_key))


async def _token_health(tokens: TokenStore) -> dict[str, str]:
    trouble = await tokens.trouble()
    if trouble is None:
        return {}
    return {"zalo_oa": f"token refresh failed: {trouble.get('why', '')}"}
