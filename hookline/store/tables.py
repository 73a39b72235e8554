"""The schema as the code declares it; migrations must build exactly this.

The delivery engine's tables are declared here; those of the features beside it
(alerts, SurveyCake, the Open API) one module each (``tables_*``), named here too, so
``tables`` is still the whole schema."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    false,
    text,
    true,
)

from hookline.store.schema_base import ID as ID
from hookline.store.schema_base import metadata as metadata
from hookline.store.tables_alerts import alert_sends as alert_sends
from hookline.store.tables_alerts import alert_settings as alert_settings
from hookline.store.tables_alerts import incidents as incidents
from hookline.store.tables_alerts import portal_links as portal_links
from hookline.store.tables_messaging import cached_images as cached_images
from hookline.store.tables_messaging import line_channels as line_channels
from hookline.store.tables_messaging import message_events as message_events
from hookline.store.tables_messaging import message_templates as message_templates
from hookline.store.tables_messaging import push_clicks as push_clicks
from hookline.store.tables_messaging import push_opens as push_opens
from hookline.store.tables_messaging import pushes as pushes
from hookline.store.tables_surveycake import surveycake_intakes as surveycake_intakes
from hookline.store.tables_surveycake import surveycake_notifications as surveycake_notifications
from hookline.store.tables_surveycake import surveycake_surveys as surveycake_surveys
from hookline.store.types import UTCDateTime

FIFO_OPEN = "fifo AND state IN ('pending', 'in_flight')"
"""A FIFO webhook's deliveries not yet done: their order is the order they go in."""

platforms = Table(
    "platforms",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("webhook_limit", Integer, nullable=False),
    Column("retry_policy", String(16), nullable=False, server_default="extended"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

platform_zones = Table(
    "platform_zones",
    metadata,
    Column("platform_id", String(ID), ForeignKey("platforms.id"), nullable=False),
    Column("zone", Integer, nullable=False),
    Column("valid_until", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("platform_id", "zone"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("platform_id", String(ID), ForeignKey("platforms.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("platform_id", String(ID), ForeignKey("platforms.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("status", String(16), nullable=False),
    Column("stop_reason", String(16), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    Column("failing_since", UTCDateTime, nullable=True),
    # Delivery controls (issue 16): extra headers sealed with the secret box, their
    # names in clear; NULL timeout or retry policy means the platform's.
    Column("headers_sealed", Text, nullable=True),
    Column("header_names", Text, nullable=True),
    Column("timeout_seconds", Integer, nullable=True),
    Column("retry_policy", String(16), nullable=True),
    Column("event_filter", Text, nullable=True),
    Column("filtered_events", Integer, nullable=False, server_default="0"),
    Column("paused_until", UTCDateTime, nullable=True),
    Column("ordering", String(8), nullable=False, server_default="none"),
    Column("rate_limit_per_second", Integer, nullable=True),
    Index("ix_webhooks_platform_id_status", "platform_id", "status"),
    Index(
        "ix_webhooks_fifo",
        "id",
        postgresql_where=text("ordering = 'fifo'"),
        sqlite_where=text("ordering = 'fifo'"),
    ),
)

rate_windows = Table(
    "rate_windows",
    metadata,
    # A rate-limited webhook's leases of the last window, as JSON [[epoch ms, count]]
    # (store.ratelimit); the row every claim locks to count them.
    Column("webhook_id", String(ID), ForeignKey("webhooks.id"), primary_key=True),
    Column("leases", Text, nullable=False),
)

webhook_topics = Table(
    "webhook_topics",
    metadata,
    Column("webhook_id", String(ID), ForeignKey("webhooks.id"), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("webhook_id", "topic"),
    Index("ix_webhook_topics_topic", "topic"),
)

webhook_secrets = Table(
    "webhook_secrets",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("webhook_id", String(ID), ForeignKey("webhooks.id"), nullable=False, index=True),
    Column("ciphertext", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("platform_id", String(ID), nullable=True, index=True),
    Column("actor_kind", String(32), nullable=False),
    Column("actor_id", String(ID), nullable=False),
    Column("action", String(200), nullable=False),
    Column("target_id", String(ID), nullable=True),
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(300), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# Dashboard logins. Emails are stored lower-cased (unique); sessions and failed-login
# counters are keyed by what the browser or the login form sends, never by a secret:
# a session row holds only the SHA-256 of its cookie token, like api_tokens.

users = Table(
    "users",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("platform_id", String(ID), ForeignKey("platforms.id"), nullable=True, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime, nullable=True),
    Column("email_alerts", Boolean, nullable=False, server_default=true()),
    Column("language", String(8), nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("email", String(254), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", UTCDateTime, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("platform_id", String(ID), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("result_id", String(ID), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("platform_id", "key"),
)

# The delivery engine. An event holds the body rendered once at ingest; a delivery is
# one (event, webhook) pair and is also the queue entry; an attempt is one HTTP POST.
# No foreign keys on these three (migration 0011): each checked row cost a lookup and,
# on PostgreSQL, a lock on its parent row; the code writes only ids it just read or
# made, and retention deletes children first.

events = Table(
    "events",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("platform_id", String(ID), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("producer_id", String(255), nullable=True),
    Column("body", LargeBinary, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("is_test", Boolean, nullable=False, server_default=false()),
    Index("ix_events_platform_id_received_at", "platform_id", "received_at"),
    Index("ix_events_received_at", "received_at"),
    Index("ix_events_platform_id_producer_id", "platform_id", "producer_id"),
)

ingest_keys = Table(
    "ingest_keys",
    metadata,
    Column("platform_id", String(ID), nullable=False),
    Column("producer_id", String(255), nullable=False),
    Column("event_id", String(ID), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("platform_id", "producer_id"),
    Index("ix_ingest_keys_created_at", "created_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("event_id", String(ID), nullable=False, index=True),
    Column("webhook_id", String(ID), nullable=False),
    Column("platform_id", String(ID), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("idempotency_key", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(32), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
    # A delivery of a FIFO webhook (issue 16): due only when it heads its webhook's queue
    Column("fifo", Boolean, nullable=False, server_default=false()),
    # A test send's delivery: left out of "last delivery" and the health figures.
    Column("is_test", Boolean, nullable=False, server_default=false()),
    # The queue's own indexes hold only the rows the queue reads, never the history.
    Index(
        "ix_deliveries_due",
        "next_attempt_at",
        postgresql_where=text("state = 'pending'"),
        sqlite_where=text("state = 'pending'"),
    ),
    # Each webhook's due rows, for a claim whose due scan webhooks at their cap fill
    # (store.due_by_webhook).
    Index(
        "ix_deliveries_due_by_webhook",
        "webhook_id",
        "next_attempt_at",
        "id",
        postgresql_where=text("state = 'pending'"),
        sqlite_where=text("state = 'pending'"),
    ),
    Index(
        "ix_deliveries_in_flight",
        "webhook_id",
        postgresql_where=text("state = 'in_flight'"),
        sqlite_where=text("state = 'in_flight'"),
    ),
    Index("ix_deliveries_webhook_id_created_at", "webhook_id", "created_at"),
    Index(
        "ix_deliveries_fifo_open",
        "webhook_id",
        "created_at",
        "id",
        postgresql_where=text(FIFO_OPEN),
        sqlite_where=text(FIFO_OPEN),
    ),
    # Health figures (store.stats): counted from the index alone, test sends left out.
    Index(
        "ix_deliveries_health",
        "webhook_id",
        "updated_at",
        "state",
        "last_error",
        postgresql_where=text("NOT is_test"),
        sqlite_where=text("is_test = 0"),
    ),
    Index("ix_deliveries_idempotency_key", "idempotency_key"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(ID), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", String(32), nullable=True),
    Column("error_detail", String(500), nullable=True),
    Column("response_body", Text, nullable=False),
    # A bounded, sanitized copy of the answer's headers (domain.response_headers).
    Column("response_headers", Text, nullable=False, server_default=""),
)

# Workers alive: each running worker rewrites its row every heartbeat, so a dead one's
# leases are known dead in seconds rather than when they expire.

workers = Table(
    "workers",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    # Unused since migration 0015 (loads moved to worker_loads): kept so that workers of
    # the version before, during a rolling upgrade, still claim. A later migration drops it.
    Column("load", Text, nullable=True),
)

# Each worker's deliveries in flight per webhook as of its last claim (JSON: {webhook
# id: n}), written by that claim's statement on PostgreSQL: what the others' claims
# count against each webhook's cap, instead of reading deliveries (domain InFlight).
# A table apart from ``workers``: a claim holds this row's lock until its round
# commits, and the heartbeat must never wait for a round.
worker_loads = Table(
    "worker_loads",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("load", Text, nullable=False),
)
