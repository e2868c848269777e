"""Application settings, read from the environment and an optional `.env` file."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SAMPLE_SECRET_VALUES = {
    "changeme",
    "change-me",
    "secret",
    "your-secret-key",
    "please-change-this-secret-key-in-production",
    "dev-secret-key-change-me-please-0123456789",
}
MIN_SECRET_BYTES = 32
SECRET_FILE_NAME = "secret_key"


class Settings(BaseSettings):
    """Every setting of the app; see the README's configuration table."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Server
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("./data")
    database_url: str = ""
    secret_key: str = ""
    public_url: str = ""
    log_level: str = "INFO"
    trusted_proxies: str = ""
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_idle_timeout_seconds: float = Field(default=30.0, gt=0)
    max_form_kb: int = Field(default=64, ge=1)

    # Accounts and sessions
    bcrypt_rounds: int = Field(default=12, ge=4, le=31)
    allow_registration: bool = True
    access_token_minutes: int = Field(default=60 * 12, ge=1)
    login_attempts: int = Field(default=5, ge=1)
    login_account_attempts: int = Field(default=20, ge=1)
    login_address_attempts: int = Field(default=100, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)

    # Model provider
    openai_api_key: str = ""
    openai_base_url: str = ""
    llm_api: Literal["responses", "chat_completions"] = "responses"
    llm_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    # Silence allowed between two reads: reasoning models think for minutes without a byte.
    # LLM_TIMEOUT_SECONDS is the old name of this setting and still works.
    llm_read_timeout_seconds: float = Field(
        default=600.0,
        gt=0,
        validation_alias=AliasChoices("llm_read_timeout_seconds", "llm_timeout_seconds"),
    )
    # The whole reply, however steadily it trickles in (a token every 5 s never times out
    # on reads alone).
    llm_reply_deadline_seconds: float = Field(default=1800.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0)
    openai_store: bool = False
    model_catalog_path: Path | None = None
    default_model: str = "gpt-4.1-mini"
    simulator_port: int = 0
    # Which Files / Vector Stores backend documents use; auto = openai for LLM_API=responses,
    # none for chat_completions (Ollama, vLLM and most gateways have no Files API).
    llm_files: Literal["auto", "openai", "none"] = "auto"
    # The output-cap parameter Chat Completions sends; auto = max_completion_tokens for OpenAI
    # (an empty OPENAI_BASE_URL or api.openai.com), max_tokens for other servers.
    chat_max_tokens_param: Literal["auto", "max_completion_tokens", "max_tokens"] = "auto"
    simulator_token: str = ""
    simulator_tokens_per_second: float = Field(default=40.0, ge=0)

    # Chat cost controls
    context_messages: int = Field(default=20, ge=1)
    # Titles (issue 14): a cheap catalog model names a conversation after its first exchange
    # (billed like any call); empty = keep the first message as the title.
    title_model: str = "gpt-4o-mini"
    max_messages_per_conversation: int = Field(default=50, ge=4)
    max_output_tokens: int = Field(default=4096, ge=16)
    max_concurrent_replies: int = Field(default=2, ge=1)
    sends_per_minute: int = Field(default=30, ge=1)
    conversation_store_days: int = Field(default=7, ge=1)

    # Files
    max_file_mb: int = Field(default=25, ge=1)
    max_files_per_assistant: int = Field(default=100, ge=1)
    # Documents read here (no Files API) are sent as text, up to this many characters each.
    local_document_max_chars: int = Field(default=100_000, ge=1000)
    # Per user: unsent chat attachments plus knowledge files, in bytes and in files.
    user_upload_quota_mb: int = Field(default=1024, ge=1)
    user_upload_quota_files: int = Field(default=500, ge=1)
    # Start the Markdown render worker process at start-up, so the first long message is
    # not shown as plain text while the worker starts (tests of single pages turn it off).
    render_worker_prestart: bool = True

    # Import (issue 15 item 6): the largest conversations.json / export file accepted, in MB
    # (kept under MAX_FILE_MB, which caps every upload's request body).
    import_max_mb: int = Field(default=20, ge=1)

    # Budgets
    default_monthly_budget_usd: float | None = None

    # Mail (password reset)
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "assistant-studio@localhost"
    smtp_starttls: bool = True

    # Scale-out
    nicegui_redis_url: str = ""

    # Scale-out: state shared by the instances (issue 17). With NICEGUI_REDIS_URL set, the turn
    # lock, the sign-in limiter and reply progress live in that Redis under this prefix (the
    # same variable NiceGUI reads for its storage keys); without it, in this process.
    nicegui_redis_key_prefix: str = "nicegui:"
    # An instance beats every third of this; one silent for longer is taken for dead, and the
    # survivors close its live replies as interrupted (partial text kept, Retry offered).
    instance_heartbeat_timeout_seconds: float = Field(default=30.0, ge=1)
    # On SIGTERM (Cloud Run gives 10 s before SIGKILL): stop taking sends, save the live
    # replies' text so far, settle their reservations and exit within this many seconds.
    shutdown_grace_seconds: float = Field(default=8.0, ge=1)

    # Single sign-on (OpenID Connect, authorization code + PKCE); on when OIDC_ISSUER and
    # OIDC_CLIENT_ID are set. Discovery happens at sign-in, so the app starts without the issuer.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid email profile"
    oidc_provider_name: str = ""  # "Sign in with …"; empty = the issuer's host
    oidc_only: bool = False  # SSO only: hide password sign-in and sign-up
    oidc_groups_claim: str = "groups"  # the id token / userinfo claim listing the user's groups

    # Audit log: events older than this many days are deleted by an hourly job (0 = keep all).
    audit_retention_days: int = Field(default=365, ge=0)

    # Temporary chats (issue 15): deleted this many hours after they start, if not closed first
    temporary_chat_hours: float = Field(default=24, gt=0)

    _secret: str | None = PrivateAttr(default=None)

    @field_validator("secret_key")
    @classmethod
    def _secret_is_strong(cls, value: str) -> str:
        if not value:
            return value
        if value.strip().lower() in SAMPLE_SECRET_VALUES:
            raise ValueError(
                "SECRET_KEY is a sample value; generate one with `openssl rand -hex 32`"
            )
        if len(value.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes; "
                "generate one with `openssl rand -hex 32`"
            )
        return value

    @model_validator(mode="after")
    def _deployment_is_consistent(self) -> Settings:
        if not self.secret_key and (self.nicegui_redis_url or not self._uses_sqlite):
            # Several containers (shared MySQL or Redis) must sign tokens with one key, and a
            # container's DATA_DIR is not shared or kept: a generated key would not do.
            raise ValueError(
                "SECRET_KEY must be set when DATABASE_URL is not SQLite or NICEGUI_REDIS_URL "
                "is set; generate one with `openssl rand -hex 32`"
            )
        # Reset links must not be built from the request's Host header, which a client picks.
        if self.smtp_host and not self.public_url:
            raise ValueError(
                "SMTP_HOST is set but PUBLIC_URL is not: set PUBLIC_URL (e.g. "
                "https://studio.example.com) so mailed password-reset links point at this app"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under DATA_DIR."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'studio.db').resolve()}"

    @property
    def _uses_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def oidc_enabled(self) -> bool:
        """True when single sign-on is configured (OIDC_ISSUER and OIDC_CLIENT_ID)."""
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def demo_mode(self) -> bool:
        """True when no API key is set: replies come from the built-in simulator."""
        return not self.openai_api_key

    def resolved_secret_key(self) -> str:
        """SECRET_KEY, or one generated once and kept in DATA_DIR so sessions survive restarts."""
        if self.secret_key:
            return self.secret_key
        if self._secret is None:
            self._secret = self._stored_or_new_secret()
        return self._secret

    def _stored_or_new_secret(self) -> str:
        path = self.data_dir / SECRET_FILE_NAME
        if path.exists():
            stored = path.read_text().strip()
            if len(stored.encode()) >= MIN_SECRET_BYTES:
                return stored
        self.data_dir.mkdir(parents=True, exist_ok=True)
        generated = secrets.token_urlsafe(48)
        path.write_text(generated)
        path.chmod(0o600)
        return generated


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cleared by tests through `get_settings.cache_clear()`)."""
    return Settings()
