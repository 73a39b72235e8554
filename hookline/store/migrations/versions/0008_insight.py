"""What the health, event-log and audit pages read: test marks, response headers, indexes.

- ``deliveries.is_test``: a test send's delivery says so itself, so "last delivery"
  and the health figures leave tests out without joining every row to its event
  (existing test deliveries are marked from their events).
- ``attempts.response_headers``: a bounded, sanitized copy of what the receiver
  answered with (``domain.response_headers``), shown beside status, latency and body.
- ``ix_deliveries_health``: the health figures count the deliveries a webhook settled
  (or last tried) in the last 24 h or 7 days from this index alone (it holds the state
  and last error, and no test sends), without reading the rows.
- ``ix_deliveries_idempotency_key`` and ``ix_events_platform_id_producer_id``: the
  event log's search by idempotency key or producer id finds its rows by index.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column("is_test", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(
            sa.Column("response_headers", sa.Text(), nullable=False, server_default="")
        )
    op.execute(
        sa.text(
            "UPDATE deliveries SET is_test = :yes WHERE event_id IN"
            " (SELECT id FROM events WHERE is_test = :yes)"
        ).bindparams(yes=True)
    )
    op.create_index(
        "ix_deliveries_health",
        "deliveries",
        ["webhook_id", "updated_at", "state", "last_error"],
        postgresql_where=sa.text("NOT is_test"),
        sqlite_where=sa.text("is_test = 0"),
    )
    op.create_index("ix_deliveries_idempotency_key", "deliveries", ["idempotency_key"])
    op.create_index("ix_events_platform_id_producer_id", "events", ["platform_id", "producer_id"])
    # an edit names every field it changed: a webhook's delivery controls made 64 short
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("action", type_=sa.String(200), existing_type=sa.String(64))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("action", type_=sa.String(64), existing_type=sa.String(200))
    op.drop_index("ix_events_platform_id_producer_id", table_name="events")
    op.drop_index("ix_deliveries_idempotency_key", table_name="deliveries")
    op.drop_index("ix_deliveries_health", table_name="deliveries")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("response_headers")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("is_test")
