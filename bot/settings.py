"""Deployment settings: read once from DVBOT_* environment variables and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

OFFICIAL_TELEGRAM_API = "https://api.telegram.org"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


class Settings(BaseSettings):
    """Everything an operator configures. Built once at start-up and passed down."""

    model_config = SettingsConfigDict(
        env_prefix="DVBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    telegram_token: SecretStr | None = None
    telegram_api_url: str = OFFICIAL_TELEGRAM_API
    telegram_bot_username: str | None = None
    redis_url: SecretStr | None = None
    data_dir: Path = Path("./data")
    content_dir: Path | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    http_host: str = "0.0.0.0"  # noqa: S104 - webhook mode listens behind a proxy
    http_port: int = Field(default=8080, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    dialog_ttl_hours: int = Field(default=24, ge=1, le=24 * 30)
    invite_days: int = Field(default=14, ge=1, le=365)
    # --- broadcasts and bulk delivery (issue 6) ---------------------------------------------
    # Messages/second for the whole bot token, shared by every sender in every process; kept
    # under Telegram's ~30/s so interactive replies still get through during a broadcast.
    telegram_rate: float = Field(default=25, gt=0, le=1000)
    # > 0: bulk messages go as paid broadcasts (allow_paid_broadcast, 0.1 Star each) at this
    # rate instead; Telegram allows up to 1,000/s. 0 keeps the free limit.
    telegram_paid_rate: float = Field(default=0, ge=0, le=1000)
    sender_workers: int = Field(default=4, ge=0, le=64)  # concurrent senders in this process
    # A delivery claimed by a process that then went silent this long is taken over.
    sender_lease_seconds: float = Field(default=30, ge=1, le=600)
    # --- operations (issue 8) ------------------------------------------------------------------
    log_format: Literal["text", "json"] = "text"  # json: one object per line, with request_id

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return _http_url(value or OFFICIAL_TELEGRAM_API)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        return _http_url(value) if value else None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1-256 characters of A-Z a-z 0-9 _ - as secret_token.
        if value is None:
            return None
        raw = value.get_secret_value()
        if not 16 <= len(raw) <= 256 or not all(c.isalnum() or c in "_-" for c in raw):
            raise ValueError("cần 16–256 ký tự A–Z, a–z, 0–9, _ hoặc -")
        return value

    def content_path(self) -> Path:
        """Where content/ lives: the setting, else the source checkout's, else ./content."""
        if self.content_dir is not None:
            return self.content_dir
        bundled = Path(__file__).resolve().parent.parent / "content"
        return bundled if bundled.is_dir() else Path("content")

    def require_telegram(self) -> str:
        """Return the bot token or explain which setting is missing."""
        if self.telegram_token is None or not self.telegram_token.get_secret_value():
            raise SettingsError(
                "Thiếu DVBOT_TELEGRAM_TOKEN: đặt token của bot (lấy từ @BotFather) "
                "hoặc dùng `dvbot console` để chạy thử không cần token."
            )
        return self.telegram_token.get_secret_value()

    def require_webhook_secret(self) -> str:
        """Return the webhook secret; webhook mode refuses to start without one."""
        if self.webhook_secret is None:
            raise SettingsError(
                "Thiếu DVBOT_WEBHOOK_SECRET: chế độ webhook cần một chuỗi bí mật 16–256 ký tự."
            )
        return self.webhook_secret.get_secret_value()


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("phải bắt đầu bằng http:// hoặc https://")
    return value.rstrip("/")


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning validation errors into one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise SettingsError(
            f"Cấu hình sai: DVBOT_{field.upper()} — {first['msg']}"
            + (f" (và {exc.error_count() - 1} lỗi khác)" if exc.error_count() > 1 else "")
        ) from None
