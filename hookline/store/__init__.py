"""Tables, queries and migrations: the only package that speaks SQL.

SQLite (WAL) and PostgreSQL sit behind the same functions; the few places where
they differ (write locks, upserts) are handled in ``db``.
"""

from hookline.store.db import Database, create_database

__all__ = ["Database", "create_database"]
