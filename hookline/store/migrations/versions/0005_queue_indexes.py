"""Partial indexes on what the queue reads: due rows and rows in flight, not history.

``(state, next_attempt_at)`` held every delivery ever made, so each settle moved an
entry within an index that grew with history. ``ix_deliveries_due`` holds only
pending rows (claims, the next due time) and ``ix_deliveries_in_flight`` only
leased ones (per-webhook in-flight counts, reclaims): both stay the size of the
queue, whatever the delivery log holds.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PENDING = sa.text("state = 'pending'")
IN_FLIGHT = sa.text("state = 'in_flight'")


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index(
        "ix_deliveries_in_flight",
        "deliveries",
        ["webhook_id"],
        postgresql_where=IN_FLIGHT,
        sqlite_where=IN_FLIGHT,
    )
    op.drop_index("ix_deliveries_state_next_attempt_at", table_name="deliveries")


def downgrade() -> None:
    op.create_index(
        "ix_deliveries_state_next_attempt_at", "deliveries", ["state", "next_attempt_at"]
    )
    op.drop_index("ix_deliveries_in_flight", table_name="deliveries")
    op.drop_index("ix_deliveries_due", table_name="deliveries")
