"""Alert tables (docs/alerts.md): incidents told once, their sends, the operator's
operational webhook, one-use portal links."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from hookline.store.schema_base import ID, metadata
from hookline.store.types import UTCDateTime

# Alerts (store/incidents.py): one row per incident under a unique key, so workers on
# one database record each once; one alert_sends row per (incident, channel,
# recipient), the promise to tell that survives an SMTP or receiver outage.

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("dedup_key", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("platform_id", String(ID), nullable=False),
    Column("subject_id", String(ID), nullable=False, index=True),
    Column("data", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    UniqueConstraint("dedup_key"),
)

alert_sends = Table(
    "alert_sends",
    metadata,
    Column("incident_id", String(ID), ForeignKey("incidents.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(ID), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True, index=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("last_error", String(300), nullable=True),
    PrimaryKeyConstraint("incident_id", "channel", "recipient"),
)

alert_settings = Table(
    "alert_settings",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("webhook_url", String(2048), nullable=True),
    Column("secret_ciphertext", Text, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

# One-use links that sign a member into their platform's dashboard (an operator's
# portal); only the SHA-256 of the link's token is kept, like sessions.

portal_links = Table(
    "portal_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("platform_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)
