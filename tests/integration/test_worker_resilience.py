"""A real worker through real database faults and a real hanging receiver.

SQLite: the file fills up or turns read-only under the worker after it has sent, so
its results cannot be written; it must keep them and write them once the fault ends,
sending nothing twice. PostgreSQL: its connections are terminated every 100 ms during
a burst; it must deliver everything and still be running. And a retry due in 1 s is
sent in about 1 s although another webhook's send hangs meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from hookline.services.context import Context, utcnow
from hookline.store import Database, create_database
from tests.conftest import POSTGRES_ADMIN_URL
from tests.support.db_faults import SqliteFault
from tests.support.engine import Setup, make_setup, make_worker
from tests.support.receiver import Answer, Received, Receiver

APP_NAME = "hookline-test-worker"
LONG = 3600.0


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Yield to the loop until ``condition`` holds, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def delivered(setup: Setup) -> int:
    return len(setup.deliveries(state="delivered"))


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("mode", "message"), [("full", "full"), ("read_only", "readonly")])
async def test_a_sqlite_worker_keeps_its_results_through_a_write_fault(
    db: Database,
    ctx: Context,
    receiver: Receiver,
    mode: Any,
    message: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    for _ in range(20):
        setup.publish()
    worker_db = create_database(str(db.engine.url))
    fault = SqliteFault(worker_db)
    armed = [True]

    def answer(_request: Received) -> Answer:
        if armed:  # the disk fills (or turns read-only) once the sends have started
            armed.clear()
            fault.mode = mode
        return Answer(body="y" * 4000)  # every attempt row then needs new pages

    receiver.policy = answer
    worker = make_worker(replace(ctx, db=worker_db), backoff_base=0.02, backoff_cap=0.2)
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.to_thread(receiver.wait_for, lambda r: len(r.received()) == 20, 10.0)
        await until(lambda: worker_db.write_health.failing)
        assert delivered(setup) < 20 and not task.done()
        fault.mode = None
        await until(lambda: delivered(setup) == 20)
        assert not task.done()
    finally:
        worker.stop()
        await task
        await worker.sender.close()
        worker_db.dispose()
    assert len(receiver.received()) == 20  # kept in memory: nothing sent twice
    assert {row.attempts for row in setup.deliveries()} == {1}
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and message in errors[0]


class Terminator:
    """Terminates every backend named ``APP_NAME`` every 100 ms, from its own thread."""

    def __init__(self) -> None:
        self.terminated = 0
        self.stop = threading.Event()
        self.engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def run(self) -> None:
        with self.engine.connect() as conn:
            while not self.stop.wait(0.1):
                self.terminated += conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE application_name = :name"
                    ),
                    {"name": APP_NAME},
                ).scalar_one()

    @classmethod
    def running(cls) -> Iterator[Terminator]:
        killer = cls()
        thread = threading.Thread(target=killer.run, daemon=True)
        thread.start()
        try:
            yield killer
        finally:
            killer.stop.set()
            thread.join(10)
            killer.engine.dispose()


@pytest.fixture
def terminator() -> Iterator[Terminator]:
    yield from Terminator.running()


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
async def test_a_postgres_worker_survives_its_connections_being_terminated(
    db: Database,
    ctx: Context,
    receiver: Receiver,
    terminator: Terminator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    setup = make_setup(ctx, [receiver.url(f"/hook{i}") for i in range(3)])
    for _ in range(50):
        setup.publish()  # 150 deliveries
    worker_db = create_database(
        str(db.engine.url.render_as_string(hide_password=False)),
        connect_args={"application_name": APP_NAME},
    )
    worker = make_worker(
        replace(ctx, db=worker_db, clock=utcnow),
        concurrency=8,
        lease_seconds=2.0,  # a claim whose commit was cut off is reclaimed soon
        maintenance_interval=0.25,
        backoff_base=0.02,
        backoff_cap=0.5,
    )
    # The pool pings a connection before lending it, so a termination that finds the
    # worker's connections idle is healed without a trace. To make sure one lands
    # mid-statement, the deliveries table is locked against writes until the worker has
    # logged a failure: its claim then waits on the lock, in a statement, when it is hit.
    lock = db.engine.connect()
    lock.execute(text("LOCK TABLE deliveries IN EXCLUSIVE MODE"))
    task = asyncio.create_task(worker.run())
    try:
        await until(lambda: bool(worker_errors(caplog)), 30)
        lock.commit()
        await until(lambda: terminator.terminated > 0 and len(receiver.received()) >= 150, 90)
        assert not task.done()
        terminator.stop.set()
        await until(lambda: delivered(setup) == 150, 90)
        assert not task.done()
    finally:
        lock.close()
        worker.stop()
        await task
        await worker.sender.close()
        worker_db.dispose()
    # The first failure of each outage streak is logged; the cause's text varies with
    # where the termination hit (mid-statement, at checkout, while reading the answer).
    assert worker_errors(caplog), "no fault hit the worker"


def worker_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "hookline.dispatch.worker" and r.levelno >= logging.ERROR
    ]


async def test_a_retry_is_sent_on_time_while_another_webhook_hangs(
    ctx: Context, receiver: Receiver
) -> None:
    """Retries are due 1 s and then 2 s after a failure; the dead webhook hangs throughout."""
    real = replace(ctx, clock=utcnow)
    setup = make_setup(real, [receiver.url("/dead"), receiver.url("/flaky")])
    receiver.hold_paths = {"/dead"}
    answers = iter([500, 500, 200])
    receiver.policy = lambda _r: Answer(status=next(answers))
    setup.publish()
    worker = make_worker(
        real, total_timeout=60.0, poll_interval=LONG, maintenance_interval=LONG, shutdown_timeout=0
    )
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.to_thread(receiver.wait_for, lambda r: len(r.received("/flaky")) == 3, 20)
        assert receiver.held == 1  # the dead one never answered
    finally:
        worker.stop()
        await task
        await worker.sender.close()
        receiver.release_held()
    (flaky,) = setup.deliveries(webhook_id=setup.webhook_ids[1])
    first, second, third = setup.attempts(flaky.id)
    for before, after, wait in ((first, second, 1.0), (second, third, 2.0)):
        due = before.started_at.timestamp() + before.latency_ms / 1000 + wait
        assert after.started_at.timestamp() - due < 3.0  # due work is claimed on time
