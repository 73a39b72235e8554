"""``ix_deliveries_due_by_webhook``: each webhook's pending deliveries by due time.

The claim walks ``ix_deliveries_due`` oldest first. A webhook at its in-flight cap
with a deep backlog of due deliveries (a slow receiver) put every one of them in
that walk, in every claim of every worker, before the claim reached any other
webhook's: on PostgreSQL a claim took 57-85 ms behind 100,000 such deliveries,
against 12 ms (``bench.capped``). The claim now reads a bounded stretch of the due
index and, when webhooks at their cap fill it, takes each other webhook's oldest due
deliveries from this index instead (``store.due_by_webhook``).

On PostgreSQL the index is built ``CONCURRENTLY``: a plain build holds off every
write to ``deliveries`` (ingest, claims, settles) for as long as it reads the table,
which on a large log is minutes, while the previous version's processes still run
(deploying.md: migrate first, then restart). A build that failed (or was killed)
leaves an invalid index behind, which every write still keeps up: the next run drops it
and builds it again; a valid one it leaves alone.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

NAME = "ix_deliveries_due_by_webhook"
# id last: the claim orders by (due time, id), an order only this index gives unsorted
COLUMNS = ["webhook_id", "next_attempt_at", "id"]
PENDING = sa.text("state = 'pending'")
VALID = sa.text(
    "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE c.relname = :name"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.create_index(NAME, "deliveries", COLUMNS, sqlite_where=PENDING)
        return
    with op.get_context().autocommit_block():
        valid = bind.execute(VALID, {"name": NAME}).scalar()
        if valid is False:  # a build that failed: kept up by every write, used by none
            op.execute(f"DROP INDEX CONCURRENTLY {NAME}")
        if not valid:
            op.create_index(
                NAME, "deliveries", COLUMNS, postgresql_where=PENDING, postgresql_concurrently=True
            )


def downgrade() -> None:
    op.drop_index(NAME, table_name="deliveries")
