"""Where the dashboard is reached from outside: the base URL its sign-in links start with."""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.settings import Settings


def dashboard_base(settings: Settings) -> str:
    """The public URL when there is one, else this machine's port (a newcomer's laptop)."""
    public = settings.public_url or settings.webhook_url
    if public:
        parts = urlsplit(public)
        return f"{parts.scheme}://{parts.netloc}"
    host = settings.http_host
    host = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104
    return f"http://{host}:{settings.http_port}"


def sign_in_url(settings: Settings, token: str) -> str:
    """The one-time sign-in link for a token."""
    return f"{dashboard_base(settings)}/web/vao/{token}"
