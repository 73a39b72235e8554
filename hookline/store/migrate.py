"""Run Alembic migrations from code, without an alembic.ini on disk."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from hookline.store.db import Database


def _config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", "hookline.store:migrations")
    config.attributes["engine"] = db.engine
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    command.upgrade(_config(db), revision)


def downgrade(db: Database, revision: str) -> None:
    command.downgrade(_config(db), revision)


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        rev: str | None = MigrationContext.configure(conn).get_current_revision()
        return rev


def head_revision(db: Database) -> str | None:
    head: str | None = ScriptDirectory.from_config(_config(db)).get_current_head()
    return head
