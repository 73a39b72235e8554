"""SurveyCake intake tables (docs/surveycake.md)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from hookline.store.schema_base import ID, metadata
from hookline.store.types import UTCDateTime

# SurveyCake intake (docs/surveycake.md). The intake token and a survey's two keys are
# sealed with the server's box (store/sealed.py lists them); a notification is leased
# by a worker like a delivery, and its svid + hash is unique per platform.

surveycake_intakes = Table(
    "surveycake_intakes",
    metadata,
    Column("platform_id", String(ID), ForeignKey("platforms.id"), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("token_ciphertext", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

surveycake_surveys = Table(
    "surveycake_surveys",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("platform_id", String(ID), ForeignKey("platforms.id"), nullable=False),
    Column("svid", String(64), nullable=False),
    Column("name", String(200), nullable=True),
    Column("keys_ciphertext", Text, nullable=False),
    Column("base_url", String(2048), nullable=False),
    Column("last_error", String(32), nullable=True),
    Column("last_error_detail", String(500), nullable=True),
    Column("last_error_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("platform_id", "svid"),
)

surveycake_notifications = Table(
    "surveycake_notifications",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("platform_id", String(ID), ForeignKey("platforms.id"), nullable=False),
    Column("svid", String(64), nullable=False),
    Column("answer_hash", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("error", String(32), nullable=True),
    Column("error_detail", String(500), nullable=True),
    Column("event_id", String(ID), nullable=True),
    Column("answer", Text, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("platform_id", "svid", "answer_hash"),
    Index(
        "ix_surveycake_notifications_due",
        "next_attempt_at",
        postgresql_where=text("state = 'pending'"),
        sqlite_where=text("state = 'pending'"),
    ),
    Index(
        "ix_surveycake_notifications_leased",
        "lease_expires_at",
        postgresql_where=text("state = 'in_flight'"),
        sqlite_where=text("state = 'in_flight'"),
    ),
    Index("ix_surveycake_notifications_platform_id_state", "platform_id", "state"),
)
