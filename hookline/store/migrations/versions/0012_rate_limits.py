"""Per-webhook rate limits (issue 16 §2): a sliding log of leases per webhook.

``rate_windows`` holds, for each rate-limited webhook, its leases of the last window
(JSON: [[epoch ms, count], ...]); every claim that leases one of its deliveries locks
that row, so workers on several machines count together.
``ix_webhooks_rate_limited`` (partial: only limited webhooks) lets the claim learn
which webhooks are limited without reading the others: empty, it costs nothing.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
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
        sa.Column("leases", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name="fk_rate_windows_webhook_id_webhooks"
        ),
        sa.PrimaryKeyConstraint("webhook_id", name="pk_rate_windows"),
    )


def downgrade() -> None:
    op.drop_table("rate_windows")
    op.drop_index("ix_webhooks_rate_limited", table_name="webhooks")
