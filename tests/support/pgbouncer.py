"""Debian's PgBouncer in transaction mode as a child of the test, in front of 127.0.0.1:5432.

The test writes its own configuration in a temporary directory, starts PgBouncer on
a free loopback port, waits until it accepts connections, and stops it on the way
out. PgBouncer refuses to run as root, so as root it is told to switch to the
``postgres`` user (``-u postgres``), which must then read the configuration: the
directory and its files are world-readable (they hold no password: ``auth_type =
trust``, as the PostgreSQL server the tests use).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import IN_CI
from tests.support.process import free_port

PGBOUNCER = Path("/usr/sbin/pgbouncer")
START_TIMEOUT = 15.0

CONFIG = """\
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
pidfile =
logfile =
auth_type = trust
auth_file = {auth_file}
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
"""


def pgbouncer_missing() -> None:
    """Skip locally, fail under CI (``.ci/run`` installs the ``pgbouncer`` package)."""
    message = f"{PGBOUNCER} not installed (Debian package pgbouncer)"
    if IN_CI:
        pytest.fail(message + " (CI=true: these tests must run, not skip)")
    pytest.skip(message)


def _command(ini: Path) -> list[str]:
    if os.geteuid() != 0:
        return [str(PGBOUNCER), str(ini)]
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root, PgBouncer needs a user to switch to: no 'postgres' user")
    return [str(PGBOUNCER), "-u", "postgres", str(ini)]


def _accepting(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


class PgBouncer:
    """A running PgBouncer; ``url(direct_url)`` is the same database reached through it."""

    def __init__(self, directory: Path, upstream: str) -> None:
        up = make_url(upstream)
        self.port = free_port()
        self.log = directory / "pgbouncer.log"
        auth_file = directory / "userlist.txt"
        auth_file.write_text(f'"{up.username}" ""\n', "utf-8")
        ini = directory / "pgbouncer.ini"
        ini.write_text(
            CONFIG.format(
                host=up.host, port=up.port or 5432, listen_port=self.port, auth_file=auth_file
            ),
            "utf-8",
        )
        for path in (auth_file, ini):
            path.chmod(0o644)
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(_command(ini), stdout=log, stderr=subprocess.STDOUT)

    def url(self, direct_url: str) -> str:
        return make_url(direct_url).set(port=self.port).render_as_string(hide_password=False)

    @property
    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not _accepting(self.port):
            if self.proc.poll() is not None:
                pytest.fail(f"pgbouncer exited ({self.proc.returncode}):\n{self.output}")
            if time.monotonic() > deadline:
                pytest.fail(f"pgbouncer not accepting within {START_TIMEOUT} s:\n{self.output}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def pgbouncer(upstream: str) -> Iterator[PgBouncer]:
    """PgBouncer (transaction mode) in front of ``upstream``'s server, stopped at the end."""
    if not PGBOUNCER.exists():
        pgbouncer_missing()
    directory = Path(tempfile.mkdtemp(prefix="hookline-pgbouncer-"))
    directory.chmod(0o755)
    bouncer = None
    try:
        bouncer = PgBouncer(directory, upstream)
        bouncer.wait_ready()
        yield bouncer
    finally:
        if bouncer is not None:
            bouncer.stop()
        shutil.rmtree(directory, ignore_errors=True)
