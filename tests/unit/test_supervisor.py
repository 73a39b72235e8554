"""The supervisor's bookkeeping: when a dead worker comes back, and that stopping stops it.

Child processes are stand-ins (their exit is set by the test) and the clock is moved
by hand, so the restart pauses are checked exactly and without waiting. Real
processes are in tests/acceptance/test_serve_workers.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

import pytest

from hookline.supervisor import PARENT_FD_ENV, Supervisor, describe_exit, watch_parent


class FakeProc:
    pids = iter(range(1000, 2000))

    def __init__(self, command: list[str], **kwargs: Any) -> None:
        self.command = command
        self.kwargs = kwargs
        self.pid = next(self.pids)
        self.code: int | None = None
        self.signals: list[int] = []

    def poll(self) -> int | None:
        return self.code

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)
        self.code = 0  # a worker drains and exits 0

    def wait(self, timeout: float | None = None) -> int:
        assert self.code is not None
        return self.code

    def kill(self) -> None:
        self.code = -signal.SIGKILL


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[FakeProc]:
    procs: list[FakeProc] = []

    def popen(command: list[str], **kwargs: Any) -> FakeProc:
        procs.append(FakeProc(command, **kwargs))
        return procs[-1]

    monkeypatch.setattr("hookline.supervisor.subprocess.Popen", popen)
    monkeypatch.setattr(FakeProc, "pids", iter(range(1000, 2000)))
    return procs


def restart_pauses(
    sup: Supervisor, clock: Clock, spawned: list[FakeProc], deaths: int
) -> list[float]:
    """Kill the newest child ``deaths`` times at once; the pause before each restart."""
    pauses = []
    for _ in range(deaths):
        spawned[-1].code = -signal.SIGKILL
        died_at, before = clock.now, len(spawned)
        sup.check()
        while len(spawned) == before:
            clock.now += 0.5
            sup.check()
        pauses.append(clock.now - died_at)
    return pauses


def test_a_worker_that_keeps_dying_comes_back_ever_later_up_to_30_s(
    spawned: list[FakeProc], caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    sup = Supervisor(2, drain_seconds=10, command=["hookline-worker"], clock=clock)
    caplog.set_level(logging.INFO, logger="hookline.supervisor")
    assert sup.start(watch=False) == [1000, 1001]
    assert restart_pauses(sup, clock, spawned, 7) == [1, 2, 4, 8, 16, 30, 30]
    assert sup.restarts == 7 and len(sup.pids) == 2
    assert "worker process 2 (pid 1001) was killed by SIGKILL; restarting it in 1 s" in caplog.text
    assert "worker process 2 started: pid 1002" in caplog.text

    clock.now += 30  # a healthy run: the next death is forgiven
    assert restart_pauses(sup, clock, spawned, 2) == [1, 2]


def test_each_child_knows_the_pipe_that_tells_it_serve_is_gone(spawned: list[FakeProc]) -> None:
    sup = Supervisor(1, drain_seconds=10, command=["hookline-worker"])
    sup.start(watch=False)
    (child,) = spawned
    fd = int(child.kwargs["env"][PARENT_FD_ENV])
    assert child.kwargs["pass_fds"] == (fd,)
    assert child.kwargs["process_group"] == 0  # a terminal's Ctrl-C reaches serve alone
    sup.stop()


def test_stopping_signals_every_child_once_and_restarts_none(spawned: list[FakeProc]) -> None:
    clock = Clock()
    sup = Supervisor(2, drain_seconds=10, command=["hookline-worker"], clock=clock)
    sup.start(watch=False)
    spawned[0].code = 1  # dies just as serve stops
    sup.begin_stop()
    clock.now += 60
    sup.check()
    assert sup.stop() == [1, 0]
    assert len(spawned) == 2 and sup.restarts == 0
    assert spawned[0].signals == [] and spawned[1].signals == [signal.SIGTERM]


def test_exits_read_as_an_operator_reads_them() -> None:
    assert describe_exit(0) == "exited with code 0"
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-signal.SIGKILL) == "was killed by SIGKILL"
    assert describe_exit(-200) == "was killed by signal 200"


def test_at_least_one_worker() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Supervisor(0, drain_seconds=10)


def test_a_worker_stops_once_its_serve_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipe's write end closing (serve exiting, however) is what tells the worker."""
    read, write = os.pipe()
    monkeypatch.setenv(PARENT_FD_ENV, str(read))
    gone: list[str] = []

    async def watch() -> None:
        loop = asyncio.get_running_loop()
        assert watch_parent(loop, lambda: gone.append("gone"))
        await asyncio.sleep(0)
        assert gone == []  # serve still holds the write end
        os.close(write)
        for _ in range(100):
            if gone:
                break
            await asyncio.sleep(0.01)

    try:
        asyncio.run(watch())
    finally:
        os.close(read)
    assert gone == ["gone"]


def test_an_unsupervised_worker_watches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.new_event_loop()
    try:
        monkeypatch.delenv(PARENT_FD_ENV, raising=False)
        assert not watch_parent(loop, lambda: None)
        monkeypatch.setenv(PARENT_FD_ENV, "not-a-number")
        assert not watch_parent(loop, lambda: None)
    finally:
        loop.close()
