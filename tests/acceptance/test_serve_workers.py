"""``hookline serve --workers N``: its worker processes deliver, come back, drain, and die with it.

Real processes throughout: serve and the ``hookline worker`` children it supervises,
a loopback receiver in the test process, and the API to read what became of each
delivery. Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import (
    GatedReceiver,
    Tenant,
    base_env,
    database,
    running,
    worker_pids,
)
from tests.support.process import Process, free_port, wait_until
from tests.support.server import wait_healthy

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
READY = re.compile(r"^worker \S+:(\d+):\S+ on ", re.MULTILINE)


class Serve:
    """``hookline serve`` with the given arguments on a free port, stopped at the end."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = Process(
            f"serve {' '.join(args)}", "serve", "--port", str(self.port), *args, env=env
        )

    def wait_ready(self, workers: int) -> None:
        """Healthy, and each of its ``workers`` processes ready to claim."""
        wait_healthy(self.process, self.base)
        wait_until(
            f"{workers} worker processes ready",
            lambda: len(READY.findall(self.process.output)) >= workers,
            60,
        )

    def current_pids(self) -> list[int]:
        return [pids[-1] for pids in worker_pids(self.process).values()]


@pytest.fixture
def receiver() -> Iterator[GatedReceiver]:
    with GatedReceiver().running() as r:
        yield r


@pytest.fixture
def started() -> Iterator[list[Process]]:
    """Every serve a test starts, stopped (SIGTERM, then SIGKILL) at teardown."""
    processes: list[Process] = []
    try:
        yield processes
    finally:
        for process in reversed(processes):
            process.stop()


def start(started: list[Process], env: dict[str, str], *args: str) -> Serve:
    serve = Serve(env, *args)
    started.append(serve.process)
    return serve


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_workers_deliver_a_burst_and_a_killed_one_comes_back(
    backend: str, tmp_path: Path, receiver: GatedReceiver, started: list[Process]
) -> None:
    """Each worker holds 50 requests when one is SIGKILLed: all 1,000 still arrive."""
    env = base_env(
        tmp_path / "var",
        worker_concurrency="50",
        webhook_concurrency="200",
        send_timeout="5",
        lease_seconds="6",
        poll_interval="0.2",
    )
    with database(backend, env) as env:
        serve = start(started, env, "--workers", "2")
        serve.wait_ready(2)
        tenant = Tenant(serve.base)
        webhook = tenant.webhook("gated", receiver.url("/gate"))
        tenant.publish(1000, prefix="burst")
        # 50 slots each: 100 requests held means both workers are full
        receiver.wait_for("100 held", lambda r: len(r.arrived["/gate"]) >= 100, 60)
        victim = worker_pids(serve.process)[1][0]
        os.kill(victim, signal.SIGKILL)
        receiver.open_gate()
        serve.process.wait_for_output(f"worker process 1 (pid {victim}) was killed by SIGKILL")
        wait_until(
            "worker process 1 restarted", lambda: len(worker_pids(serve.process)[1]) == 2, 30
        )
        assert running(worker_pids(serve.process)[1][1])

        def all_delivered() -> bool:
            return tenant.states(webhook) == {"delivered": 1000}

        # the dead worker's leases expire (6 s) and are reclaimed by the others
        wait_until("every delivery delivered", all_delivered, 120, step=0.5)
        keys = {d["idempotency_key"] for d in tenant.deliveries(webhook)}
        assert set(receiver.arrived["/gate"]) == keys  # none lost, nothing else sent
        tenant.close()
        assert serve.process.terminate(timeout=60) == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigterm_finishes_what_is_in_flight_and_gives_back_the_rest(
    backend: str, tmp_path: Path, receiver: GatedReceiver, started: list[Process]
) -> None:
    """Answers that come after SIGTERM are recorded; requests never answered are released
    after HOOKLINE_DRAIN_SECONDS; serve exits 0 and leaves no worker behind."""
    env = base_env(tmp_path / "var", drain_seconds="3", send_timeout="30", lease_seconds="60")
    with database(backend, env) as env:
        api = start(started, env, "--no-worker")  # to read the outcome after serve is gone
        wait_healthy(api.process, api.base)
        serve = start(started, env, "--workers", "2")
        serve.wait_ready(2)
        pids = serve.current_pids()
        tenant = Tenant(api.base)
        gated = tenant.webhook("gated", receiver.url("/gate"))
        stuck = tenant.webhook("stuck", receiver.url("/stuck"))
        tenant.publish(10, prefix="drain")

        def all_in_flight(r: GatedReceiver) -> bool:
            return len(r.arrived["/gate"]) == 10 and len(r.arrived["/stuck"]) == 10

        receiver.wait_for("20 requests in flight", all_in_flight, 60)
        serve.process.proc.send_signal(signal.SIGTERM)
        wait_until(
            "both workers draining",
            lambda: serve.process.output.count("SIGTERM; draining (up to 3 s)") == 2,
            30,
        )
        receiver.open_gate()  # the answers now come while the workers drain
        assert serve.process.proc.wait(timeout=60) == 0, serve.process.output
        assert not [pid for pid in pids if running(pid)]

        delivered = tenant.deliveries(gated)
        assert [(d["state"], d["last_status_code"]) for d in delivered] == [("delivered", 200)] * 10
        released = tenant.deliveries(stuck)
        assert [(d["state"], d["attempts"]) for d in released] == [("pending", 0)] * 10
        tenant.close()


def test_the_workers_exit_when_serve_is_killed(tmp_path: Path, started: list[Process]) -> None:
    """SIGKILL gives serve no chance to stop them: they notice on their own.

    On the way, the workers run HOOKLINE_WORKER_NICE below serve's CPU priority."""
    env = {**base_env(tmp_path / "var"), "HOOKLINE_WORKER_NICE": "3"}
    serve = start(started, env, "--workers", "2")
    serve.wait_ready(2)
    pids = serve.current_pids()
    assert len(pids) == 2 and all(running(pid) for pid in pids)
    niceness = os.getpriority(os.PRIO_PROCESS, serve.process.proc.pid)
    assert niceness == os.getpriority(os.PRIO_PROCESS, 0)  # serve keeps the one it was given
    assert [os.getpriority(os.PRIO_PROCESS, p) for p in pids] == [min(19, niceness + 3)] * 2
    serve.process.kill()
    try:
        wait_until("the orphaned workers to exit", lambda: not any(running(p) for p in pids), 30)
    finally:  # a failure must not leave them behind
        for pid in pids:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
    serve.process.wait_for_output("its hookline serve is gone; draining")
