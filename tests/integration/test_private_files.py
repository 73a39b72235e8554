"""The data directory is its owner's alone: 0700, and 0600 for the database and the key.

Before, ``hookline.db`` and its ``-wal``/``-shm`` files were created 0644 (any local
user could read every event and token hash) while the key file next to them was 0600.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hookline.bootstrap import build_context
from hookline.config import Settings
from hookline.store.migrate import upgrade


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common 022: files a process creates are world-readable unless it says otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_data_directory_is_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    ctx = build_context(settings)
    try:
        upgrade(ctx.db)
        with ctx.db.write() as conn:  # a write while connected: -wal and -shm exist now
            conn.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
        db_file = settings.data_dir / "hookline.db"
        files = [
            db_file,
            db_file.with_name("hookline.db-wal"),
            db_file.with_name("hookline.db-shm"),
        ]
        assert all(f.exists() for f in files)
        assert {f.name: mode(f) for f in [*files, settings.key_file]} == {
            f.name: 0o600 for f in [*files, settings.key_file]
        }
        assert mode(settings.data_dir) == 0o700
    finally:
        ctx.db.dispose()


def test_an_open_data_directory_is_narrowed_at_start(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    db_file = data / "hookline.db"
    db_file.touch()
    db_file.chmod(0o644)
    key_file = data / "secret.key"
    key_file.write_text("an old key\n")
    key_file.chmod(0o640)
    ctx = build_context(Settings(data_dir=data))
    ctx.db.dispose()
    assert (mode(data), mode(db_file), mode(key_file)) == (0o700, 0o600, 0o600)


def test_a_directory_that_is_not_hookline_s_alone_is_left_open(tmp_path: Path) -> None:
    """PostgreSQL with HOOKLINE_SECRET_KEY keeps nothing in the data dir: not ours to close."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    settings = Settings(data_dir=shared, secret_key="k", database_url="sqlite://")
    build_context(settings).db.dispose()
    assert mode(shared) == 0o755
