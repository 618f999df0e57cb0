"""Deployment settings: read once from DVBOT_* environment variables and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import pydantic_vi

OFFICIAL_TELEGRAM_API = "https://api.telegram.org"
OFFICIAL_ZALO_BOT_API = "https://bot-api.zaloplatforms.com"
OFFICIAL_ZALO_OA_API = "https://openapi.zalo.me"
OFFICIAL_ZALO_OAUTH = "https://oauth.zaloapp.com"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


class Settings(BaseSettings):
    """Everything an operator configures. Built once at start-up and passed down."""

    model_config = SettingsConfigDict(
        env_prefix="DVBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore",
        env_ignore_empty=True,  # `DVBOT_X=` (as in .env.example) means "not set": the default
    )

    telegram_token: SecretStr | None = None
    telegram_api_url: str = OFFICIAL_TELEGRAM_API
    telegram_bot_username: str | None = None
    redis_url: SecretStr | None = None
    # Connections per process; a busy pool makes callers wait (up to 10 s) instead of failing.
    redis_max_connections: int = Field(default=200, ge=4, le=10_000)
    data_dir: Path = Path("./data")
    content_dir: Path | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    http_host: str = "0.0.0.0"  # noqa: S104 - webhook mode listens behind a proxy
    http_port: int = Field(default=8080, ge=1, le=65535)
    # Slow clients: a request's headers, and then its body, must arrive within this many
    # seconds; open connections are capped (and kept under the process's file limit).
    http_read_timeout: float = Field(default=10.0, gt=0, le=300)
    http_max_connections: int = Field(default=1000, ge=8, le=100_000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    dialog_ttl_hours: int = Field(default=24, ge=1, le=24 * 30)
    invite_days: int = Field(default=14, ge=1, le=365)
    # --- broadcasts and bulk delivery ---------------------------------------------
    # Messages/second for the whole bot token, shared by every sender in every process; kept
    # under Telegram's ~30/s so interactive replies still get through during a broadcast.
    telegram_rate: float = Field(default=25, gt=0, le=1000)
    # > 0: bulk messages go as paid broadcasts (allow_paid_broadcast, 0.1 Star each) at this
    # rate instead; Telegram allows up to 1,000/s. 0 keeps the free limit.
    telegram_paid_rate: float = Field(default=0, ge=0, le=1000)
    sender_workers: int = Field(default=4, ge=0, le=64)  # concurrent senders in this process
    # A delivery claimed by a process that then went silent this long is taken over.
    sender_lease_seconds: float = Field(default=30, ge=1, le=600)
    # --- proposals "Dân vận khéo" ---------------------------------------------------
    # Review levels, lowest first: `co_so` (đảng bộ / chi bộ cơ sở), `khoi` (Đảng bộ Khối),
    # `chi_bo`, or any unit kind; each proposal is reviewed by its nearest unit of each level.
    proposal_levels: str = "co_so,khoi"
    # A claimed proposal left undecided this long goes back to the queue for another reviewer.
    review_claim_minutes: float = Field(default=30, gt=0, le=24 * 60)
    # Largest photo accepted with a proposal (the form states it).
    proposal_photo_mb: float = Field(default=5, gt=0, le=20)
    # --- Zalo -------------------------------------------------------------------
    # Zalo Bot Platform: token "{bot_id}:{secret}" from Zalo Bot Creator; any compatible server.
    zalo_bot_token: SecretStr | None = None
    zalo_bot_api_url: str = OFFICIAL_ZALO_BOT_API
    zalo_rate: float = Field(default=5, gt=0, le=1000)  # Bot Platform messages/second
    # Zalo Official Account: app id, app secret (OAuth), OA secret key (webhook signature),
    # and the first OAuth token pair (later pairs rotate in Redis).
    zalo_oa_app_id: str | None = None
    zalo_oa_app_secret: SecretStr | None = None
    zalo_oa_secret_key: SecretStr | None = None
    zalo_oa_access_token: SecretStr | None = None
    zalo_oa_refresh_token: SecretStr | None = None
    zalo_oa_api_url: str = OFFICIAL_ZALO_OA_API
    zalo_oa_oauth_url: str = OFFICIAL_ZALO_OAUTH
    zalo_oa_rate: float = Field(default=20, gt=0, le=1000)  # ~4,000 requests/min per app
    # Zalo bills OA messages sent 48 h to 7 days after the member last wrote (a funded Zalo
    # Cloud Account is needed). Off: such members are counted unreachable instead.
    zalo_oa_billed: bool = False
    # The secret the Zalo Bot Platform sends with webhook calls; default: derived from
    # DVBOT_WEBHOOK_SECRET (one-way), never that secret itself, which authenticates Telegram.
    zalo_bot_webhook_secret: SecretStr | None = None
    # The zalo_verifier<code>.html file Zalo gives for domain verification, served at "/".
    zalo_verifier_file: Path | None = None
    # Public base URL of this server, for links to files the bot sends on Zalo (photos go as
    # URLs there); default: the origin of DVBOT_WEBHOOK_URL.
    public_url: str | None = None

    # --- surveys ---------------------------------------------------------------------
    # Smallest group whose answers are shown separately in an anonymous survey's results.
    survey_min_group: int = Field(default=5, ge=2, le=100)
    # Deployment secret keying the "already answered" marks; kept out of Redis so Redis alone
    # cannot link a person to a mark. Empty: a random key in DATA_DIR/survey-secret.key (0600).
    survey_secret: SecretStr | None = None

    # --- tâm tư, kiến nghị ------------------------------------------------------------
    # A thread left unanswered this many days goes up to the level above (and shows overdue).
    tamtu_escalate_days: int = Field(default=7, ge=1, le=90)
    # New threads one member may open per day (counted under a keyed HMAC, not their id).
    tamtu_daily_limit: int = Field(default=5, ge=1, le=100)

    # --- operations ------------------------------------------------------------------
    log_format: Literal["text", "json"] = "text"  # json: one object per line, with request_id

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return _http_url(value or OFFICIAL_TELEGRAM_API)

    @field_validator("zalo_bot_api_url", "zalo_oa_api_url", "zalo_oa_oauth_url")
    @classmethod
    def _zalo_urls(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return _http_url(value) if value else None

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        return _http_url(value) if value else None

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked here so a typo stops start-up with one line instead of redis-py's traceback;
        # the value itself is never echoed (it may hold a password).
        schemes = ("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")
        if value is not None and not value.get_secret_value().startswith(schemes):
            raise ValueError("phải bắt đầu bằng redis://, rediss://, unix:// hoặc "
                             "redis+cluster:// (để trống: dùng Valkey nhúng)")
        return value

    @field_validator("zalo_bot_webhook_secret", "zalo_verifier_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("zalo_bot_webhook_secret")
    @classmethod
    def _zalo_secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Zalo's setWebhook takes a secret_token of 8-256 characters.
        if value is not None and not 8 <= len(value.get_secret_value()) <= 256:
            raise ValueError("cần 8–256 ký tự")
        return value

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

    def require_shared_survey_secret(self) -> None:
        """With an external store, every process must key surveys with the same secret: one
        generated per process (per data directory) would not open another's marks."""
        external = self.redis_url is not None and bool(self.redis_url.get_secret_value())
        if external and not (self.survey_secret and self.survey_secret.get_secret_value()):
            raise SettingsError(
                "Thiếu DVBOT_SURVEY_SECRET: khi dùng Redis/Valkey riêng (DVBOT_REDIS_URL), mọi "
                "tiến trình dvbot phải dùng chung một khóa bí mật; tạo một lần (openssl rand "
                "-hex 32) và đặt giống nhau cho mọi tiến trình."
            )

    # --- Zalo -------------------------------------------------------------------
    def has_telegram(self) -> bool:
        """A Telegram token is configured."""
        return bool(self.telegram_token and self.telegram_token.get_secret_value())

    def has_zalo_bot(self) -> bool:
        """A Zalo Bot Platform token is configured."""
        return bool(self.zalo_bot_token and self.zalo_bot_token.get_secret_value())

    def has_zalo_oa(self) -> bool:
        """A Zalo Official Account is configured (all of its settings, or an error)."""
        fields = {"ZALO_OA_APP_ID": self.zalo_oa_app_id,
                  "ZALO_OA_APP_SECRET": self.zalo_oa_app_secret,
                  "ZALO_OA_SECRET_KEY": self.zalo_oa_secret_key,
                  "ZALO_OA_REFRESH_TOKEN": self.zalo_oa_refresh_token}
        given = [name for name, value in fields.items() if value]
        if given and len(given) < len(fields):
            missing = ", ".join(f"DVBOT_{n}" for n in fields if n not in given)
            raise SettingsError(f"Thiếu {missing}: Zalo OA cần đủ app id, khóa bí mật và token.")
        return bool(given)

    def require_channel(self) -> None:
        """`dvbot run` needs at least one platform."""
        if not (self.has_telegram() or self.has_zalo_bot() or self.has_zalo_oa()):
            self.require_telegram()  # explains the missing token
            raise SettingsError("Chưa cấu hình ứng dụng nhắn tin nào.")  # pragma: no cover

    def zalo_secrets(self) -> list[str]:
        """Zalo secrets to scrub from logs."""
        values = (self.zalo_bot_token, self.zalo_oa_app_secret, self.zalo_oa_secret_key,
                  self.zalo_oa_access_token, self.zalo_oa_refresh_token)
        return [v.get_secret_value() for v in values if v is not None]

    def file_base_url(self) -> str | None:
        """Where this server is reachable from outside, for file links (or None)."""
        if self.public_url:
            return self.public_url
        if self.webhook_url:
            scheme, _, rest = self.webhook_url.partition("://")
            return f"{scheme}://{rest.split('/', 1)[0]}"
        return None


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
            f"Cấu hình sai: DVBOT_{field.upper()} — {pydantic_vi.message(first)}"
            + (f" (và {exc.error_count() - 1} lỗi khác)" if exc.error_count() > 1 else "")
        ) from None
