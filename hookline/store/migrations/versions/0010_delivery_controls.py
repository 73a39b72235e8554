"""Per-webhook delivery controls: extra headers, timeout, retry policy, filter, pauses.

``headers_sealed`` holds the extra headers as JSON sealed with the secret box (values
are credentials for the receiver's gateway); ``header_names`` holds their names in
clear so a page can list them without opening anything. ``paused_until`` is when a
receiver that answered 429/503 with ``Retry-After`` may be called again.
``ordering`` and ``rate_limit_per_second`` are read by the claim; a FIFO webhook's
deliveries carry ``fifo`` and are indexed, while not done, in the order they go in.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hookline.store.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FIFO = sa.text("ordering = 'fifo'")
FIFO_OPEN = sa.text("fifo AND state IN ('pending', 'in_flight')")


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("headers_sealed", sa.Text(), nullable=True))
        batch.add_column(sa.Column("header_names", sa.Text(), nullable=True))
        batch.add_column(sa.Column("timeout_seconds", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("retry_policy", sa.String(16), nullable=True))
        batch.add_column(sa.Column("event_filter", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("filtered_events", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("paused_until", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("ordering", sa.String(8), nullable=False, server_default="none"))
        batch.add_column(sa.Column("rate_limit_per_second", sa.Integer(), nullable=True))
    op.create_index(
        "ix_webhooks_fifo", "webhooks", ["id"], postgresql_where=FIFO, sqlite_where=FIFO
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("fifo", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index(
        "ix_deliveries_fifo_open",
        "deliveries",
        ["webhook_id", "created_at", "id"],
        postgresql_where=FIFO_OPEN,
        sqlite_where=FIFO_OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_fifo_open", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("fifo")
    op.drop_index("ix_webhooks_fifo", table_name="webhooks")
    with op.batch_alter_table("webhooks") as batch:
        for name in (
            "rate_limit_per_second",
            "ordering",
            "paused_until",
            "filtered_events",
            "event_filter",
            "retry_policy",
            "timeout_seconds",
            "header_names",
            "headers_sealed",
        ):
            batch.drop_column(name)
