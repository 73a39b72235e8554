"""Workers wake when work arrives, not at their next poll.

Each test sets a poll interval far longer than its own deadline, so a delivery that
arrives in time can only have been started by a wake-up.
"""

from __future__ import annotations

import asyncio
import secrets
import stat
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text

from hookline.app import create_app
from hookline.config import Settings
from hookline.dispatch.runner import run_worker
from hookline.dispatch.wakeup import (
    FIRST,
    SECOND,
    SOCKET_NAME_MAX,
    SOCKET_PATH_MAX,
    Turn,
    listen_postgres,
    listen_sqlite,
    notify_sqlite_workers,
    poll_only,
    sqlite_wake_dir,
)
from hookline.services.context import Context
from hookline.store import Database
from hookline.store.queue import NOTIFY_CHANNEL
from hookline.supervisor import TURN_ENV
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
    task = asyncio.create_task(listen_sqlite(wake_dir, lambda _first: woken.set(), stop))
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
    async def broken(_on_notify: Callable[[bool], None], _stop: asyncio.Event) -> None:
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


@pytest.mark.parametrize(
    ("raw", "turn"),
    [("1/2", Turn(1, 2)), ("", Turn()), ("2/2", Turn()), ("x/2", Turn()), ("0/0", Turn())],
)
def test_a_worker_reads_its_turn_from_serve_or_answers_everything_first(
    monkeypatch: pytest.MonkeyPatch, raw: str, turn: Turn
) -> None:
    monkeypatch.setenv(TURN_ENV, raw)
    assert Turn.from_env() == turn


def test_each_token_falls_to_exactly_one_worker_and_the_share_is_fair() -> None:
    turns = [Turn(slot, 3) for slot in range(3)]
    tokens = [secrets.token_hex(4) for _ in range(3000)]
    firsts = [[t.first_for(token) for t in turns] for token in tokens]
    assert all(sum(row) == 1 for row in firsts)
    shares = [sum(row[slot] for row in firsts) for slot in range(3)]
    assert min(shares) > 800  # 1,000 each on average; 800 is over six deviations off
    assert all(Turn().first_for(token) for token in tokens[:10])  # alone: first at all


def test_sqlite_ingest_tells_one_worker_first_a_different_one_each_time(
    tmp_path: Path,
) -> None:
    import socket

    directory = tmp_path / "hookline.db.wake"
    directory.mkdir()
    socks = []
    for i in range(3):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(directory / f"{i}-w.sock"))
        sock.setblocking(False)
        socks.append(sock)
    try:
        for _ in range(3):
            notify_sqlite_workers(directory)
        got = [[s.recv(8) for _ in range(3)] for s in socks]
    finally:
        for sock in socks:
            sock.close()
    assert all(datagram in (FIRST, SECOND) for row in got for datagram in row)
    for round_ in range(3):  # each notification: exactly one worker first
        assert sum(got[w][round_] == FIRST for w in range(3)) == 1
    assert all(row.count(FIRST) == 1 for row in got)  # and each worker first once


@pytest.mark.parametrize("datagrams", [[SECOND, SECOND], [SECOND, FIRST], [b"!"]])
async def test_a_sqlite_listener_looks_first_if_any_wake_up_said_so(
    tmp_path: Path, datagrams: list[bytes]
) -> None:
    import socket

    directory = tmp_path / "hookline.db.wake"
    woken: list[bool] = []
    stop = asyncio.Event()
    task = asyncio.create_task(listen_sqlite(directory, woken.append, stop))
    try:
        await until(lambda: any(directory.glob("*.sock")))
        (path,) = directory.glob("*.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            for datagram in datagrams:
                sender.sendto(datagram, str(path))
        await until(lambda: bool(woken))
    finally:
        stop.set()
        await task
    assert woken[-1] is (FIRST in datagrams)


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
async def test_a_postgres_listener_looks_first_at_the_tokens_that_fall_to_it(
    db: Database,
) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    turn = Turn(1, 2)
    tokens = [secrets.token_hex(4) for _ in range(20)]
    woken: list[bool] = []
    stop = asyncio.Event()
    task = asyncio.create_task(listen_postgres(url, woken.append, stop, turn))
    try:
        await until(lambda: woken == [True])  # listening: it looks once at what it missed
        for token in tokens:  # as ingest sends them (store.queue.notify)
            with db.engine.begin() as conn:
                conn.execute(
                    text("SELECT pg_notify(:channel, :token)"),
                    {"channel": NOTIFY_CHANNEL, "token": token},
                )
        await until(lambda: len(woken) == 1 + len(tokens))
    finally:
        stop.set()
        with db.engine.begin() as conn:  # the listener checks ``stop`` at its next notice
            conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
        await task
    assert woken[1 : 1 + len(tokens)] == [turn.first_for(t) for t in tokens]
    assert 0 < sum(woken[1 : 1 + len(tokens)]) < len(tokens)


async def test_a_second_wake_up_comes_late(ctx: Context, receiver: Receiver) -> None:
    """``wake(now=False)``: the worker looks ``second_wake`` later, never sooner."""
    setup = make_setup(ctx, [receiver.url()])
    worker = make_worker(ctx, poll_interval=LONG_POLL, second_wake=0.3)
    task = asyncio.create_task(run_worker(worker, poll_only))
    try:
        await until(lambda: worker.idle)
        setup.publish()
        told = time.monotonic()
        for _ in range(5):
            worker.wake(now=False)
        await asyncio.to_thread(receiver.wait_for, lambda rc: len(rc.received()) == 1, 10.0)
        assert time.monotonic() - told >= 0.3
    finally:
        worker.stop()
        await task
        await worker.sender.close()
