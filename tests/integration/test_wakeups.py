"""Workers wake when work arrives, not at their next poll.

Each test sets a poll interval far longer than its own deadline, so a delivery that
arrives in time can only have been started by a wake-up.
"""

from __future__ import annotations

import asyncio
import stat
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from hookline.app import create_app
from hookline.config import Settings
from hookline.dispatch.runner import run_worker
from hookline.dispatch.wakeup import (
    SOCKET_NAME_MAX,
    SOCKET_PATH_MAX,
    listen_sqlite,
    notify_sqlite_workers,
    sqlite_wake_dir,
)
from hookline.services.context import Context
from hookline.store import Database
from tests.integration.conftest import INGEST_TOKEN, OPERATOR_TOKEN, PRODUCER
from tests.support.engine import SAMPLE, TOPIC, make_setup, make_worker
from tests.support.receiver import Receiver

LONG_POLL = 120.0


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Yield to the loop until ``condition`` holds, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_the_embedded_worker_is_woken_in_process(ctx: Context, receiver: Receiver) -> None:
    setup = make_setup(ctx, [receiver.url()])
    settings = Settings(
        operator_token=SecretStr(OPERATOR_TOKEN),
        ingest_token=SecretStr(INGEST_TOKEN),
        poll_interval=LONG_POLL,
    )
    with TestClient(create_app(settings, ctx, embedded_worker=True)) as client:
        deadline = time.monotonic() + 10
        while not client.app.state.worker.idle:  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, "the worker never went idle"
            time.sleep(0.01)
        r = client.post(
            "/internal/v1/events",
            json={"platform_id": setup.platform_id, "topic": TOPIC, "data": SAMPLE},
            headers=PRODUCER,
        )
        assert r.status_code == 202
        receiver.wait_for(lambda rc: len(rc.received()) == 1, timeout=10)


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
async def test_postgres_workers_are_woken_by_notify(
    db: Database, ctx: Context, receiver: Receiver
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    worker = make_worker(ctx, poll_interval=LONG_POLL)
    task = asyncio.create_task(run_worker(worker))
    try:
        # This context has no in-process wake-up: only NOTIFY (or the poll) can wake the
        # worker. After the first delivery it is idle, waiting LONG_POLL.
        setup.publish()
        await asyncio.to_thread(receiver.wait_for, lambda rc: len(rc.received()) == 1, 10.0)
        await until(lambda: worker.idle)
        setup.publish()
        await asyncio.to_thread(receiver.wait_for, lambda rc: len(rc.received()) == 2, 10.0)
    finally:
        worker.stop()
        await task
        await worker.sender.close()


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
async def test_sqlite_workers_in_other_processes_are_woken_by_a_datagram(
    db: Database, ctx: Context, receiver: Receiver
) -> None:
    """The worker below shares nothing with the ingesting context but the database file."""
    url = str(db.engine.url)
    wake_dir = sqlite_wake_dir(url)
    assert wake_dir is not None
    setup = make_setup(ctx, [receiver.url()])
    worker = make_worker(replace(ctx), poll_interval=LONG_POLL)
    ctx.wake_workers = lambda: notify_sqlite_workers(wake_dir)
    task = asyncio.create_task(run_worker(worker))
    try:
        await until(lambda: worker.idle and any(wake_dir.glob("*.sock")))
        setup.publish()
        await asyncio.to_thread(receiver.wait_for, lambda rc: len(rc.received()) == 1, 10.0)
    finally:
        worker.stop()
        await task
        await worker.sender.close()
    assert not any(wake_dir.glob("*.sock"))  # the worker took its socket away


def test_notifying_skips_and_forgets_dead_workers_sockets(tmp_path: Path) -> None:
    import socket

    directory = tmp_path / "hookline.db.wake"
    directory.mkdir()
    stale = directory / "123-dead.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind(str(stale))  # bound, then closed: nobody reads it any more
    notify_sqlite_workers(directory)
    assert not stale.exists()
    notify_sqlite_workers(tmp_path / "missing")  # no directory yet: nothing to do


async def test_a_sqlite_file_deep_in_the_tree_still_wakes_its_workers(tmp_path: Path) -> None:
    """A Unix socket path has at most ~108 bytes: a data directory deeper than that used to
    kill the listener silently, leaving its worker to poll."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    url = f"sqlite:///{deep / 'hookline.db'}"
    wake_dir = sqlite_wake_dir(url)
    assert wake_dir is not None
    assert len(str(wake_dir)) + SOCKET_NAME_MAX <= SOCKET_PATH_MAX
    assert sqlite_wake_dir(url) == wake_dir  # every process derives the same directory
    woken, stop = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(listen_sqlite(wake_dir, woken.set, stop))
    try:
        await until(lambda: any(wake_dir.glob("*.sock")))
        assert stat.S_IMODE(wake_dir.stat().st_mode) == 0o700
        notify_sqlite_workers(wake_dir)
        await asyncio.wait_for(woken.wait(), 10)
    finally:
        stop.set()
        await task
    assert not any(wake_dir.glob("*.sock"))


async def test_a_failed_listener_is_logged_and_the_worker_polls(
    ctx: Context, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(_on_notify: Callable[[], None], _stop: asyncio.Event) -> None:
        raise OSError("AF_UNIX path too long")

    setup = make_setup(ctx, [receiver.url()])
    worker = make_worker(ctx, poll_interval=0.2)
    task = asyncio.create_task(run_worker(worker, broken))
    try:
        await until(lambda: "wake-ups from other processes are off" in caplog.text)
        setup.publish()  # no wake-up reaches it: the poll finds it
        await asyncio.to_thread(receiver.wait_for, lambda rc: len(rc.received()) == 1, 10.0)
    finally:
        worker.stop()
        await task  # ends cleanly although its listener failed
        await worker.sender.close()
