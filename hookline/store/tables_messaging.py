"""Open API tables (docs/openapi.md): LINE channels, templates, message events, pushes
and what each push led to."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, LargeBinary, String, Table, Text, false

from hookline.store.schema_base import ID, metadata
from hookline.store.types import UTCDateTime

# The Open API (issue 13): a platform's LINE channel (its token sealed like share
# secrets), its templates and message events (integer ids, as MAAC's), and what each
# push to one LINE friend led to: an open (the first image fetch) and clicks.

line_channels = Table(
    "line_channels",
    metadata,
    Column("platform_id", String(ID), ForeignKey("platforms.id"), primary_key=True),
    Column("ciphertext", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

message_templates = Table(
    "message_templates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform_id", String(ID), ForeignKey("platforms.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("messages", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
)

message_events = Table(
    "message_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform_id", String(ID), ForeignKey("platforms.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("archived", Boolean, nullable=False, server_default=false()),
    Column("created_at", UTCDateTime, nullable=False),
)

pushes = Table(
    "pushes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform_id", String(ID), ForeignKey("platforms.id"), nullable=False),
    Column("template_id", Integer, nullable=False),
    Column("event_id", Integer, nullable=True, index=True),
    Column("line_uid", String(64), nullable=False),
    Column("customer_id", String(255), nullable=True),
    Column("token", String(64), nullable=False, unique=True),
    Column("result", String(16), nullable=False),
    Column("images", Text, nullable=False),
    Column("links", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

push_opens = Table(
    "push_opens",
    metadata,
    Column("push_id", Integer, ForeignKey("pushes.id"), primary_key=True),
    Column("opened_at", UTCDateTime, nullable=False),
)

push_clicks = Table(
    "push_clicks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("push_id", Integer, ForeignKey("pushes.id"), nullable=False, index=True),
    Column("url", String(2048), nullable=False),
    Column("clicked_at", UTCDateTime, nullable=False),
)

cached_images = Table(
    "cached_images",
    metadata,
    Column("url_hash", String(64), primary_key=True),
    Column("content_type", String(100), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
)
