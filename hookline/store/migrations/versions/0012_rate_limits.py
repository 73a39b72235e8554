"""Per-webhook rate limits (issue 16 §2): a one-second window counter per webhook.

``rate_windows`` holds, for each rate-limited webhook, the second its counter is for
and how many deliveries were leased in it; every claim that leases one of its
deliveries locks that row, so workers on several machines count together.
``ix_webhooks_rate_limited`` (partial: only limited webhooks) lets the claim learn
which webhooks are limited without reading the others: empty, it costs nothing.

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hookline.store.types import UTCDateTime

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

LIMITED = sa.text("rate_limit_per_second IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_webhooks_rate_limited",
        "webhooks",
        ["id", "rate_limit_per_second"],
        postgresql_where=LIMITED,
        sqlite_where=LIMITED,
    )
    op.create_table(
        "rate_windows",
        sa.Column("webhook_id", sa.String(40), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name="fk_rate_windows_webhook_id_webhooks"
        ),
        sa.PrimaryKeyConstraint("webhook_id", name="pk_rate_windows"),
    )


def downgrade() -> None:
    op.drop_table("rate_windows")
    op.drop_index("ix_webhooks_rate_limited", table_name="webhooks")
