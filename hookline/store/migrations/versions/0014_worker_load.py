"""``workers.load``: each worker's deliveries in flight per webhook, for the others' claims.

A PostgreSQL claim counted every webhook's in-flight deliveries in ``deliveries``
itself. Whenever the planner read ``ix_deliveries_in_flight`` with a bitmap scan, that
count read every entry a claim had added since the last vacuum (a bitmap scan never
marks dead entries, so nothing skipped them): 51,000 of them for 150 live ones at the
end of ``make bench``'s steady phase, growing with history between vacuums. A worker
knows its own in-flight deliveries; it now writes them, per webhook, on its row in the
statement that claims, and each claim adds up its peers' rows instead.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("workers", sa.Column("load", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("load")
