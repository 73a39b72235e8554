"""Delivery engine: events, ingest keys, deliveries (the queue), attempts.

Also a per-platform retry policy and the webhook's ``failing_since`` (auto-stop).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hookline.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = 40


def upgrade() -> None:
    with op.batch_alter_table("platforms") as batch:
        batch.add_column(
            sa.Column("retry_policy", sa.String(16), nullable=False, server_default="extended")
        )
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("failing_since", UTCDateTime(), nullable=True))
    op.create_table(
        "events",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("platform_id", sa.String(ID), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("producer_id", sa.String(255), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("is_test", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name="fk_events_platform_id_platforms"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_platform_id_received_at", "events", ["platform_id", "received_at"])
    op.create_index("ix_events_received_at", "events", ["received_at"])
    op.create_table(
        "ingest_keys",
        sa.Column("platform_id", sa.String(ID), nullable=False),
        sa.Column("producer_id", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(ID), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("platform_id", "producer_id", name="pk_ingest_keys"),
    )
    op.create_index("ix_ingest_keys_created_at", "ingest_keys", ["created_at"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("event_id", sa.String(ID), nullable=False),
        sa.Column("webhook_id", sa.String(ID), nullable=False),
        sa.Column("platform_id", sa.String(ID), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name="fk_deliveries_event_id_events"),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name="fk_deliveries_webhook_id_webhooks"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
    )
    op.create_index("ix_deliveries_event_id", "deliveries", ["event_id"])
    op.create_index(
        "ix_deliveries_state_next_attempt_at", "deliveries", ["state", "next_attempt_at"]
    )
    op.create_index(
        "ix_deliveries_webhook_id_created_at", "deliveries", ["webhook_id", "created_at"]
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(ID), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(32), nullable=True),
        sa.Column("error_detail", sa.String(500), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["deliveries.id"], name="fk_attempts_delivery_id_deliveries"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_attempts"),
    )
    op.create_index("ix_attempts_delivery_id", "attempts", ["delivery_id"])


def downgrade() -> None:
    op.drop_table("attempts")
    op.drop_table("deliveries")
    op.drop_table("ingest_keys")
    op.drop_table("events")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("failing_since")
    with op.batch_alter_table("platforms") as batch:
        batch.drop_column("retry_policy")
