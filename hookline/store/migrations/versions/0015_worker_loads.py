"""``worker_loads``: the workers' loads on rows of their own, apart from the heartbeats.

Migration 0014 put each worker's load on its ``workers`` row, written by the claim in
its round's transaction: the row stayed locked until that round committed, and the
worker's heartbeat, an update of the same row, waited for it. A round slower than
``HOOKLINE_WORKER_DEAD_AFTER`` would then have made a live worker look dead to its
peers, and its leases taken back while it still sent them. Loads are rewritten by
every claim anyway, so none is carried over.

``workers.load`` stays, unused by this version: workers of the previous one, still
running during a rolling upgrade (deploying.md: migrate first, then restart), keep
claiming with it. Until they are all restarted, each version counts only its own
peers' loads, so the cap is looser by what the others hold. A later migration drops it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_loads",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("load", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_worker_loads"),
    )


def downgrade() -> None:
    op.drop_table("worker_loads")
