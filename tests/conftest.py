"""Shared fixtures: a database per backend, a fake clock, an app client.

Store and API tests take the ``db`` fixture, which is parametrized over SQLite and
PostgreSQL, so every such test runs on both. Without a PostgreSQL server the
PostgreSQL half skips locally, saying why; under CI=true it fails instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hookline.domain.networks import parse_networks
from hookline.domain.secrets import SecretBox
from hookline.services.context import Context
from hookline.store import Database, create_database
from hookline.store.migrate import upgrade
from hookline.store.tables import metadata
from tests.support.offline_dns import offline
from tests.support.receiver import Receiver

POSTGRES_ADMIN_URL = os.environ.get(
    "HOOKLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
LOOPBACK = "127.0.0.0/8,::1/128"
OFFLINE_SITE = str(Path(__file__).resolve().parent / "support" / "offline_site")


@pytest.fixture(scope="session", autouse=True)
def _offline_dns() -> Iterator[None]:
    """No test resolves an outside name (tests/support/offline_dns.py says why and how).

    Session-wide, so fixtures and threads started by any test are covered too; a test
    that needs a particular answer still monkeypatches ``socket.getaddrinfo`` itself.
    Python processes the tests start inherit ``PYTHONPATH`` and with it the same stub
    (tests/support/offline_site/sitecustomize.py); Chromium gets its own rule
    (tests/browser/conftest.py).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", offline(socket.getaddrinfo, socket.gethostname()))
        patch.setenv("PYTHONPATH", OFFLINE_SITE, prepend=os.pathsep)
        yield


@dataclass
class FakeClock:
    """A clock tests move by hand, so validity dates are tested without waiting."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 28, 4, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def _postgres_unavailable(reason: str) -> None:
    message = (
        f"PostgreSQL at {make_url(POSTGRES_ADMIN_URL).render_as_string()} unavailable: {reason}"
    )
    if IN_CI:
        pytest.fail(message + " (CI=true: PostgreSQL tests must run, not skip)")
    pytest.skip(message)


@contextmanager
def postgres_database(prefix: str = "hookline_test") -> Iterator[str]:
    """A fresh, empty PostgreSQL database's URL; dropped (connections and all) after.

    The one place tests make a database: without a server it skips (fails under CI).
    """
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any connection failure means "no server"
        admin.dispose()
        _postgres_unavailable(str(exc).splitlines()[0])
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database for this test session, migrated once, dropped at the end."""
    with postgres_database() as url:
        db = create_database(url)
        upgrade(db)
        db.dispose()
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (much faster than migrating)."""
    path = tmp_path_factory.mktemp("template") / "hookline.db"
    db = create_database(f"sqlite:///{path}")
    upgrade(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "hookline.db"
        shutil.copyfile(template, path)
        database = create_database(f"sqlite:///{path}")
    else:
        database = create_database(request.getfixturevalue("postgres_url"))
        # DELETE, children first: on the small tables a test leaves it took 10 ms where
        # one TRUNCATE of every table took 86 (new files for each), ~1,400 times a run.
        with database.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ctx(db: Database, clock: FakeClock) -> Context:
    return Context(
        db=db,
        box=SecretBox("test-secret-key"),
        allow_http=True,
        allowed_networks=parse_networks(LOOPBACK),
        clock=clock,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as r:
        yield r
