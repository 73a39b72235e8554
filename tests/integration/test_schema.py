"""The migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from hookline.store import Database
from hookline.store.migrate import current_revision, downgrade, head_revision, upgrade
from hookline.store.tables import metadata


def _diff(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(mc, metadata))


def test_migrated_schema_equals_declared_schema(db: Database) -> None:
    assert current_revision(db) == head_revision(db)
    assert _diff(db) == []


def test_downgrade_to_nothing_and_back(db: Database) -> None:
    downgrade(db, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(db)
    assert _diff(db) == []
    assert {t.name for t in metadata.sorted_tables} <= set(inspect(db.engine).get_table_names())
