"""The Open API's tables: LINE channels, templates, message events, pushes, opens, clicks.

Integer ids (templates, events, pushes) because MAAC's Open API names them by number;
the channel token is sealed like a share secret (``store.sealed``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hookline.store.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = 40


def _platform() -> sa.Column[str]:
    return sa.Column("platform_id", sa.String(ID), sa.ForeignKey("platforms.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "line_channels",
        sa.Column("platform_id", sa.String(ID), sa.ForeignKey("platforms.id"), primary_key=True),
        sa.Column("ciphertext", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "message_templates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _platform(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("messages", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_message_templates_platform_id", "message_templates", ["platform_id"])
    op.create_table(
        "message_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _platform(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_message_events_platform_id", "message_events", ["platform_id"])
    _pushes()


def _pushes() -> None:
    op.create_table(
        "pushes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _platform(),
        sa.Column("template_id", sa.Integer, nullable=False),
        sa.Column("event_id", sa.Integer, nullable=True),
        sa.Column("line_uid", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(255), nullable=True),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("images", sa.Text, nullable=False),
        sa.Column("links", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("token", name="uq_pushes_token"),
    )
    op.create_index("ix_pushes_event_id", "pushes", ["event_id"])
    op.create_table(
        "push_opens",
        sa.Column("push_id", sa.Integer, sa.ForeignKey("pushes.id"), primary_key=True),
        sa.Column("opened_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "push_clicks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("push_id", sa.Integer, sa.ForeignKey("pushes.id"), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("clicked_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_push_clicks_push_id", "push_clicks", ["push_id"])
    op.create_table(
        "cached_images",
        sa.Column("url_hash", sa.String(64), primary_key=True),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("fetched_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "cached_images",
        "push_clicks",
        "push_opens",
        "pushes",
        "message_events",
        "message_templates",
        "line_channels",
    ):
        op.drop_table(table)
