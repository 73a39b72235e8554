"""Settings, read once from the environment (``HOOKLINE_*``) into one typed object."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hookline.domain.framing import parse_frame_ancestors
from hookline.domain.networks import IPNetwork, parse_networks
from hookline.domain.smtp import parse_smtp_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOOKLINE_", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where SQLite and keys live.")
    database_url: str | None = Field(
        default=None, description="postgresql+psycopg://... selects PostgreSQL; default SQLite."
    )
    database_pooler: Literal["none", "transaction"] = Field(
        default="none",
        description="transaction: HOOKLINE_DATABASE_URL goes through a transaction-mode pooler"
        " (PgBouncer pool_mode = transaction): no server-side prepared statements, no LISTEN"
        " on it.",
    )
    listen_database_url: str | None = Field(
        default=None,
        description="A direct PostgreSQL URL (no transaction pooler) the workers LISTEN on;"
        " default: HOOKLINE_DATABASE_URL, or polling when that is transaction-pooled.",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Encrypts share secrets at rest; generated when unset."
    )
    operator_token: SecretStr | None = Field(
        default=None, description="Bearer token of the operator routes (/v1/admin)."
    )
    allow_http: bool = Field(default=False, description="Accept http:// webhook URLs.")
    allow_private_networks: str = Field(
        default="", description="Comma-separated CIDRs webhook URLs may point into."
    )

    ingest_token: SecretStr | None = Field(
        default=None, description="Bearer token of the producers' ingest routes (/internal)."
    )
    metrics_token: SecretStr | None = Field(
        default=None, description="Bearer token of GET /metrics (Prometheus); unset: disabled."
    )
    retention_days: float = Field(
        default=30, gt=0, description="Events, deliveries and attempts older than this are purged."
    )
    egress_proxy: str | None = Field(
        default=None,
        description="http://host:port of an HTTP proxy every delivery goes through (CONNECT"
        " for https receivers); the SSRF guard still judges each receiver first.",
    )
    connect_timeout: float = Field(default=5.0, gt=0, description="Seconds to open a connection.")
    send_timeout: float = Field(default=15.0, gt=0, description="Seconds for a whole attempt.")
    worker_concurrency: int = Field(default=200, ge=1, description="Requests in flight per worker.")
    webhook_concurrency: int = Field(
        default=50, ge=1, description="Deliveries in flight per webhook, across all workers."
    )
    lease_seconds: float = Field(
        default=60.0, gt=0, description="How long a claimed delivery stays a worker's own."
    )
    poll_interval: float = Field(
        default=1.0, gt=0, description="Longest wait between looks at the queue without a wake-up."
    )
    worker_dead_after: float = Field(
        default=3.0,
        gt=0,
        description="Seconds without a heartbeat (one a second) after which a worker is dead"
        " and its leased deliveries and SurveyCake notifications go to the others.",
    )
    worker_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="How much a worker process lowers its own CPU priority (nice): on a"
        " machine it shares with the API, producers' requests are answered first and"
        " deliveries take every cycle the API leaves; 0 keeps the priority it started with.",
    )
    drain_seconds: float = Field(
        default=10.0,
        ge=0,
        description="On SIGTERM, how long a worker lets attempts in flight finish before it"
        " gives the rest back to the queue.",
    )
    line_api_base: str = Field(
        default="https://api.line.me",
        description="LINE Messaging API base URL pushes go to (a proxy, or a fake in tests).",
    )
    public_url: str = Field(
        default="http://localhost:8000",
        description="The address LINE clients reach this server at: tracking URLs of pushed"
        " images and links are made under it.",
    )
    failing_days: float = Field(
        default=5.0, gt=0, description="A webhook failing every attempt this long is stopped."
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="Alert emails: smtp://user:pass@host:587?starttls=true (or smtps://);"
        " unset: no emails (docs/alerts.md).",
    )
    smtp_from: str = Field(default="", description="The From address of alert emails.")
    alerts_interval: float = Field(
        default=15.0, gt=0, description="Seconds between a worker's looks for new incidents."
    )
    frame_ancestors: str = Field(
        default="",
        description="Space- or comma-separated origins allowed to frame the dashboard"
        " (https://app.example.com); unset: framing refused (docs/portal.md).",
    )

    @model_validator(mode="after")
    def _smtp_readable(self) -> Settings:
        if self.smtp_url is not None:
            parse_smtp_url(self.smtp_url.get_secret_value(), self.smtp_from)
        return self

    @field_validator("frame_ancestors")
    @classmethod
    def _origins_parse(cls, value: str) -> str:
        parse_frame_ancestors(value)  # goes into a CSP header: refuse anything else at start
        return value

    @property
    def frame_origins(self) -> tuple[str, ...]:
        return parse_frame_ancestors(self.frame_ancestors)

    @model_validator(mode="after")
    def _lease_outlives_attempt(self) -> Settings:
        if self.lease_seconds <= self.send_timeout:
            raise ValueError(
                "HOOKLINE_LEASE_SECONDS must be longer than HOOKLINE_SEND_TIMEOUT, or a slow"
                " attempt would be sent twice."
            )
        return self

    @model_validator(mode="after")
    def _pooler_needs_postgres(self) -> Settings:
        """A pooler setting on SQLite is a mistake in the environment, not a no-op."""
        urls = [self.database_url or ""]
        if self.listen_database_url is not None:
            urls.append(self.listen_database_url)
        pooled = self.database_pooler == "transaction" or self.listen_database_url is not None
        if pooled and not all(url.startswith("postgresql") for url in urls):
            raise ValueError(
                "HOOKLINE_DATABASE_POOLER and HOOKLINE_LISTEN_DATABASE_URL only apply to"
                " PostgreSQL: both URLs must be postgresql+psycopg://..."
            )
        return self

    @property
    def transaction_pooled(self) -> bool:
        """The main URL is a transaction pooler's: a connection is ours for one transaction."""
        return self.database_pooler == "transaction"

    @field_validator("allow_private_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        parse_networks(value)  # a typo here must stop the start, not open a hole later
        return value

    @field_validator("egress_proxy")
    @classmethod
    def _proxy_is_http(cls, value: str | None) -> str | None:
        """Only a plain http:// proxy (the usual squid or tinyproxy); a typo stops the start."""
        if not value:
            return None
        url = urlsplit(value)
        if url.scheme != "http" or not url.hostname or url.path not in ("", "/"):
            raise ValueError("HOOKLINE_EGRESS_PROXY must look like http://proxy:3128")
        return value

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hookline.db').resolve()}"

    @cached_property
    def allowed_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.allow_private_networks)

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"
