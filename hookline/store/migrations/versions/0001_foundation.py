"""Foundation: platforms, zones, tokens, webhooks, secrets, audit log, idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hookline.store.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = 40


def upgrade() -> None:
    op.create_table(
        "platforms",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("webhook_limit", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_platforms"),
    )
    op.create_table(
        "platform_zones",
        sa.Column("platform_id", sa.String(ID), nullable=False),
        sa.Column("zone", sa.Integer(), nullable=False),
        sa.Column("valid_until", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name="fk_platform_zones_platform_id_platforms"
        ),
        sa.PrimaryKeyConstraint("platform_id", "zone", name="pk_platform_zones"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("platform_id", sa.String(ID), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name="fk_api_tokens_platform_id_platforms"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_platform_id", "api_tokens", ["platform_id"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("platform_id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stop_reason", sa.String(16), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name="fk_webhooks_platform_id_platforms"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
    )
    op.create_index("ix_webhooks_platform_id_status", "webhooks", ["platform_id", "status"])
    op.create_table(
        "webhook_topics",
        sa.Column("webhook_id", sa.String(ID), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name="fk_webhook_topics_webhook_id_webhooks"
        ),
        sa.PrimaryKeyConstraint("webhook_id", "topic", name="pk_webhook_topics"),
    )
    op.create_index("ix_webhook_topics_topic", "webhook_topics", ["topic"])
    op.create_table(
        "webhook_secrets",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("webhook_id", sa.String(ID), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name="fk_webhook_secrets_webhook_id_webhooks"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_secrets"),
    )
    op.create_index("ix_webhook_secrets_webhook_id", "webhook_secrets", ["webhook_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("platform_id", sa.String(ID), nullable=True),
        sa.Column("actor_kind", sa.String(32), nullable=False),
        sa.Column("actor_id", sa.String(ID), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_id", sa.String(ID), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(300), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_platform_id", "audit_log", ["platform_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("platform_id", sa.String(ID), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("result_id", sa.String(ID), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("platform_id", "key", name="pk_idempotency_keys"),
    )


def downgrade() -> None:
    for table in (
        "idempotency_keys",
        "audit_log",
        "webhook_secrets",
        "webhook_topics",
        "webhooks",
        "api_tokens",
        "platform_zones",
        "platforms",
    ):
        op.drop_table(table)
