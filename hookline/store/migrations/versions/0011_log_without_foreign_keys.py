"""No foreign keys on the delivery log's hot paths: events, deliveries, attempts.

Every row ingest and the worker write checked its parent: on PostgreSQL a lookup plus a
``FOR KEY SHARE`` lock of that parent row per inserted row. A 1,000-event ingest
(3,000 deliveries) spent more time in those checks (221 ms, 6,000 trigger calls)
than in the insert itself (195 ms), and every concurrent ingest and settle locked the
same few webhook rows, which PostgreSQL records as multixacts. The code writes
these rows only with ids it just read or made, and deletes them children first
(``store.retention``), so the checks bought nothing; the indexes stay.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

DROPPED = [
    # (table, constraint, column, referred table)
    ("attempts", "fk_attempts_delivery_id_deliveries", "delivery_id", "deliveries"),
    ("deliveries", "fk_deliveries_event_id_events", "event_id", "events"),
    ("deliveries", "fk_deliveries_webhook_id_webhooks", "webhook_id", "webhooks"),
    ("events", "fk_events_platform_id_platforms", "platform_id", "platforms"),
]


def upgrade() -> None:
    for table, name, _column, _referred in DROPPED:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table, name, column, referred in reversed(DROPPED):
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(name, referred, [column], ["id"])
