"""SurveyCake intake: connected surveys, each platform's intake token, notifications.

A notification is the durable record of SurveyCake's ``svid`` + ``hash`` post: the
intake commits it before answering, and a worker leases it (like a delivery) to
fetch, decrypt and publish the answer. ``(platform_id, svid, answer_hash)`` is
unique, so SurveyCake posting the same answer twice makes one event. Two partial
indexes hold only what each worker's look for work reads (due and leased rows), so
that look stays cheap however many settled answers are kept.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hookline.store.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DUE = sa.text("state = 'pending'")
LEASED = sa.text("state = 'in_flight'")


def upgrade() -> None:
    op.create_table(
        "surveycake_intakes",
        sa.Column("platform_id", sa.String(40), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("token_ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name="fk_surveycake_intakes_platform_id_platforms"
        ),
        sa.PrimaryKeyConstraint("platform_id", name="pk_surveycake_intakes"),
        sa.UniqueConstraint("token_hash", name="uq_surveycake_intakes_token_hash"),
    )
    op.create_table(
        "surveycake_surveys",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("platform_id", sa.String(40), nullable=False),
        sa.Column("svid", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("keys_ciphertext", sa.Text(), nullable=False),
        sa.Column("base_url", sa.String(2048), nullable=False),
        sa.Column("last_error", sa.String(32), nullable=True),
        sa.Column("last_error_detail", sa.String(500), nullable=True),
        sa.Column("last_error_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name="fk_surveycake_surveys_platform_id_platforms"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_surveycake_surveys"),
        sa.UniqueConstraint("platform_id", "svid", name="uq_surveycake_surveys_platform_id_svid"),
    )
    op.create_table(
        "surveycake_notifications",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("platform_id", sa.String(40), nullable=False),
        sa.Column("svid", sa.String(64), nullable=False),
        sa.Column("answer_hash", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(32), nullable=True),
        sa.Column("error_detail", sa.String(500), nullable=True),
        sa.Column("event_id", sa.String(40), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
            name="fk_surveycake_notifications_platform_id_platforms",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_surveycake_notifications"),
        sa.UniqueConstraint(
            "platform_id",
            "svid",
            "answer_hash",
            name="uq_surveycake_notifications_platform_id_svid_answer_hash",
        ),
    )
    op.create_index(
        "ix_surveycake_notifications_due",
        "surveycake_notifications",
        ["next_attempt_at"],
        postgresql_where=DUE,
        sqlite_where=DUE,
    )
    op.create_index(
        "ix_surveycake_notifications_leased",
        "surveycake_notifications",
        ["lease_expires_at"],
        postgresql_where=LEASED,
        sqlite_where=LEASED,
    )
    op.create_index(
        "ix_surveycake_notifications_platform_id_state",
        "surveycake_notifications",
        ["platform_id", "state"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_surveycake_notifications_platform_id_state", table_name="surveycake_notifications"
    )
    op.drop_index("ix_surveycake_notifications_leased", table_name="surveycake_notifications")
    op.drop_index("ix_surveycake_notifications_due", table_name="surveycake_notifications")
    op.drop_table("surveycake_notifications")
    op.drop_table("surveycake_surveys")
    op.drop_table("surveycake_intakes")
