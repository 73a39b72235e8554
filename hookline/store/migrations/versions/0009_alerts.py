"""Alerts and portal links: incidents told once, who was told, one-use dashboard links.

``incidents`` holds one row per incident under a unique ``dedup_key``, so several
workers detecting the same failure on one database record it once. ``alert_sends`` is
one row per (incident, channel, recipient): the row is the promise to tell, leased
while it is being sent and marked sent after, so a failed SMTP or webhook send is
retried without telling anyone twice. ``alert_settings`` holds the operator's
operational-webhook URL and its sealed secret. ``users`` gains the member's own
choices: email alerts on or off, and the language of those emails.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hookline.store.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = 40


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("dedup_key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("platform_id", sa.String(ID), nullable=False),
        sa.Column("subject_id", sa.String(ID), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
        sa.UniqueConstraint("dedup_key", name="uq_incidents_dedup_key"),
    )
    op.create_index("ix_incidents_subject_id", "incidents", ["subject_id"])
    op.create_table(
        "alert_sends",
        sa.Column("incident_id", sa.String(ID), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(ID), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_alert_sends_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("incident_id", "channel", "recipient", name="pk_alert_sends"),
    )
    op.create_index("ix_alert_sends_next_attempt_at", "alert_sends", ["next_attempt_at"])
    op.create_table(
        "alert_settings",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("webhook_url", sa.String(2048), nullable=True),
        sa.Column("secret_ciphertext", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_settings"),
    )
    op.create_table(
        "portal_links",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("platform_id", sa.String(ID), nullable=False),
        sa.Column("user_id", sa.String(ID), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_portal_links"),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("email_alerts", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")
        batch.drop_column("email_alerts")
    op.drop_table("portal_links")
    op.drop_table("alert_settings")
    op.drop_index("ix_alert_sends_next_attempt_at", table_name="alert_sends")
    op.drop_table("alert_sends")
    op.drop_index("ix_incidents_subject_id", table_name="incidents")
    op.drop_table("incidents")
