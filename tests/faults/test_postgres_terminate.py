"""PostgreSQL connections killed under load: nothing accepted is lost, nobody dies.

``hookline serve --no-worker`` and two workers on PostgreSQL. While a producer
publishes, every backend of the test database is terminated (``pg_terminate_backend``)
every ~75 ms for a few seconds: the API's, the workers' claims and settlements, their
LISTEN connections. Ingest may refuse (``503``) but never fail (``500``); afterwards
the workers are still running and every accepted event arrives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ADMIN_URL
from tests.faults.producer import Producer
from tests.support.counting_receiver import CountingReceiver
from tests.support.process import free_port
from tests.support.shared_db import Processes, backend_env, make_platform

pytestmark = pytest.mark.postgres

EVENTS = 3_000
RATE = 500.0  # events per second: the burst lasts about as long as the terminations
TERMINATE_EVERY = 0.075  # seconds
TERMINATE_FOR = 5.0  # seconds


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with backend_env(
        "postgresql", tmp_path / "var", concurrency=50, lease_seconds=3.0, send_timeout=2.0
    ) as env:
        yield env


def terminate_backends(url: str, stop: threading.Event) -> int:
    """Terminate every other backend of the test database until ``stop`` or the time is up;
    answers how many were terminated."""
    database = make_url(url).database
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    killed = 0
    deadline = time.monotonic() + TERMINATE_FOR
    try:
        with admin.connect() as conn:
            while time.monotonic() < deadline and not stop.wait(TERMINATE_EVERY):
                killed += len(
                    conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = :db AND pid <> pg_backend_pid()"
                        ),
                        {"db": database},
                    ).all()
                )
    finally:
        admin.dispose()
    return killed


def test_terminated_connections_lose_nothing_and_kill_no_worker(
    env: dict[str, str], processes: Processes, receiver: CountingReceiver
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = processes.serve("serve", port)
    workers = [processes.worker("worker 1"), processes.worker("worker 2")]
    stop = threading.Event()
    with httpx.Client(timeout=30) as api:
        platform = make_platform(base, api, "Terminate test")
        platform.add_webhook("receiver", receiver.url())
        producer = Producer(base, platform.id, EVENTS, batch=50, rate=RATE)
        with ThreadPoolExecutor(max_workers=2) as pool:
            publishing = pool.submit(producer.run)
            terminating = pool.submit(terminate_backends, env["HOOKLINE_DATABASE_URL"], stop)
            try:
                publishing.result(timeout=180)
            finally:
                stop.set()
            killed = terminating.result(timeout=30)
    dead = [p.name for p in [server, *workers] if p.proc.poll() is not None]
    print(f"\n{killed} backends terminated; ingest answered {dict(producer.statuses)}")
    print(f"exited during the terminations: {dead or 'none'}")
    assert killed > 0
    odd = {s for s in producer.statuses if s not in ("202", "503") and not s.startswith("item ")}
    assert not odd, f"ingest answered {odd}: {producer.refusals[:3]}"
    assert not dead, f"exited during the terminations: {dead}"
    expected = producer.accepted_count()
    arrived = receiver.wait_for(lambda r: len(r.counts) >= expected, timeout=90)
    assert arrived, f"{expected - receiver.seen()} of {expected} accepted events never arrived"
    assert not [p.name for p in workers if p.proc.poll() is not None]
