"""Drop ``ix_webhooks_rate_limited``: nothing reads it any more.

Migration 0012 made it so each claim could learn which webhooks are rate-limited
without reading the others. Since the PostgreSQL claim became one statement, a leased
row carries its webhook's limit (``DueDelivery.rate_limit_per_second``), on both
backends, and no query filters on the limit. An index nothing reads is still written
with every change of a webhook row.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LIMITED = sa.text("rate_limit_per_second IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_webhooks_rate_limited", table_name="webhooks")


def downgrade() -> None:
    op.create_index(
        "ix_webhooks_rate_limited",
        "webhooks",
        ["id", "rate_limit_per_second"],
        postgresql_where=LIMITED,
        sqlite_where=LIMITED,
    )
