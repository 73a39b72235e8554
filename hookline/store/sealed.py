"""Every stored value sealed with the server's ``SecretBox``, in one place.

A key check at start and a key rotation must see every sealed column, so each one is
listed here; a new column holding ``box.encrypt`` output belongs in ``SEALED_COLUMNS``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Column, Connection, Table, inspect, select, text, update

from hookline.store.tables import (
    alert_settings,
    line_channels,
    surveycake_intakes,
    surveycake_surveys,
    webhook_secrets,
    webhooks,
)


@dataclass(frozen=True)
class SealedColumn:
    table: Table
    key: Column[str]
    value: Column[str]
    order: Column[object]
    """Newest last: a start-up sample takes the newest values and the oldest one."""


SEALED_COLUMNS = (
    # the operator's operational-webhook secret (docs/alerts.md): NULL when none is set
    SealedColumn(
        alert_settings,
        alert_settings.c.id,
        alert_settings.c.secret_ciphertext,
        alert_settings.c.updated_at,
    ),
    SealedColumn(
        webhook_secrets,
        webhook_secrets.c.id,
        webhook_secrets.c.ciphertext,
        webhook_secrets.c.created_at,
    ),
    # a webhook's extra headers (issue 16): NULL when it has none, skipped below
    SealedColumn(webhooks, webhooks.c.id, webhooks.c.headers_sealed, webhooks.c.created_at),
    SealedColumn(
        surveycake_surveys,
        surveycake_surveys.c.id,
        surveycake_surveys.c.keys_ciphertext,
        surveycake_surveys.c.created_at,
    ),
    SealedColumn(
        surveycake_intakes,
        surveycake_intakes.c.platform_id,
        surveycake_intakes.c.token_ciphertext,
        surveycake_intakes.c.created_at,
    ),
    SealedColumn(
        line_channels,
        line_channels.c.platform_id,
        line_channels.c.ciphertext,
        line_channels.c.updated_at,
    ),
)


@dataclass(frozen=True)
class SealedValue:
    column: SealedColumn
    key: str
    ciphertext: str


def _exists(conn: Connection, column: SealedColumn) -> bool:
    """A database not yet migrated has nothing sealed (and no table to ask)."""
    return inspect(conn).has_table(column.table.name)


def sample(conn: Connection, newest: int = 3) -> list[SealedValue]:
    """A few sealed values per column, cheap on any size: the newest and the oldest."""
    found: list[SealedValue] = []
    for column in SEALED_COLUMNS:
        if not _exists(conn, column):
            continue
        base = select(column.key, column.value).where(column.value.is_not(None))
        rows = [
            *conn.execute(base.order_by(column.order.desc()).limit(newest)),
            *conn.execute(base.order_by(column.order.asc()).limit(1)),
        ]
        seen: set[str] = set()
        for key, value in rows:
            if key not in seen:
                seen.add(key)
                found.append(SealedValue(column, key, value))
    return found


def lock_all(conn: Connection) -> None:
    """Keep other writers out of the sealed tables until this transaction ends.

    SQLite's write transaction already excludes every other writer; PostgreSQL needs
    a table lock, or a secret inserted meanwhile would stay sealed with the old key.
    """
    if conn.dialect.name == "postgresql":
        for column in SEALED_COLUMNS:
            conn.execute(text(f'LOCK TABLE "{column.table.name}" IN SHARE ROW EXCLUSIVE MODE'))


def every_value(conn: Connection) -> list[SealedValue]:
    return [
        SealedValue(column, key, value)
        for column in SEALED_COLUMNS
        for key, value in conn.execute(
            select(column.key, column.value).where(column.value.is_not(None))
        )
    ]


def replace(conn: Connection, resealed: Iterable[SealedValue]) -> None:
    for value in resealed:
        conn.execute(
            update(value.column.table)
            .where(value.column.key == value.key)
            .values({value.column.value.name: value.ciphertext})
        )
