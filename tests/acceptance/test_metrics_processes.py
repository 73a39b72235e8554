"""A separate worker process's deliveries show on ``serve``'s ``/metrics``.

Real processes on one SQLite data directory, with no ``PROMETHEUS_MULTIPROC_DIR`` in
their environment: ``serve --no-worker`` (which sends nothing itself) and one
``hookline worker``. Both derive the same directory from ``$HOOKLINE_DATA_DIR``
(``multiproc.default_dir``); the page ``serve`` answers must sum the worker's counts,
keep them once the worker has stopped, and a restarted ``serve`` must drop the files
of processes that are gone. The worker's own ``--metrics-port`` page (for machines
without ``serve``) shows the same counts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hookline.devtools.fake import fake_data
from hookline.metrics import multiproc
from tests.support.counting_receiver import CountingReceiver as Receiver
from tests.support.process import free_port, wait_until
from tests.support.prom import value
from tests.support.server import wait_healthy
from tests.support.shared_db import (
    INGEST_TOKEN,
    TOPIC,
    Processes,
    base_env,
    list_deliveries,
    make_platform,
)
from tests.support.shared_db import ok as _ok

EVENTS = 12
METRICS_TOKEN = "hlm_acceptance-metrics"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(hold_after=10**9)  # answers every request at once
    r.start()
    yield r
    r.stop()


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    env = base_env(concurrency=100, lease_seconds=3.0, send_timeout=2.0)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(HOOKLINE_DATA_DIR=str(tmp_path / "var"), HOOKLINE_METRICS_TOKEN=METRICS_TOKEN)
    p = Processes(env)
    try:
        yield p
    finally:
        p.stop_all()


def delivered_on(base: str) -> float:
    r = httpx.get(base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200, r.text
    return value(r.text, "hookline_deliveries_settled_total", outcome="delivered", error="none")


def test_a_worker_process_counts_on_serves_page(
    receiver: Receiver, procs: Processes, tmp_path: Path
) -> None:
    try:
        _scenario(receiver, procs, multiproc.default_dir(tmp_path / "var"))
    except BaseException:
        print("\n" + procs.report())
        raise


def _scenario(receiver: Receiver, procs: Processes, metrics_dir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve_args = ("serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port))
    server = procs.start("serve", *serve_args)
    wait_healthy(server, base)
    worker_port = free_port()
    worker = procs.start("worker", "worker", "--metrics-port", str(worker_port))
    worker.wait_for_port(worker_port)
    with httpx.Client(base_url=base, timeout=30) as api:
        platform = make_platform(base, api, "Metrics")
        webhook_id = platform.add_webhook("counted", receiver.url())
        events = [
            {
                "platform_id": platform.id,
                "topic": TOPIC,
                "data": fake_data(TOPIC, random.Random(i)),
            }
            for i in range(EVENTS)
        ]
        ingest = {"Authorization": f"Bearer {INGEST_TOKEN}"}
        r = api.post("/internal/v1/events/batch", json={"events": events}, headers=ingest)
        assert _ok(r, 202)["accepted"] == EVENTS
        wait_until(
            "every delivery delivered",
            lambda: len(list_deliveries(api, webhook_id, "delivered")) == EVENTS,
            60,
        )
    # serve delivers nothing itself: every one of these was counted by the worker
    wait_until("the worker's counts on serve's page", lambda: delivered_on(base) == EVENTS, 10)
    assert (metrics_dir / f"counter_{worker.proc.pid}.db").exists()
    # a machine without serve: the worker answers for its directory, behind the token
    assert delivered_on(f"http://127.0.0.1:{worker_port}") == EVENTS
    assert httpx.get(f"http://127.0.0.1:{worker_port}/metrics").status_code == 401

    assert worker.terminate(timeout=30) == 0
    assert delivered_on(base) == EVENTS  # a stopped process's counts stay until a restart

    server.terminate(timeout=30)  # its exit status is the drain's business, not ours
    server = procs.start("serve again", *serve_args)
    wait_healthy(server, base)
    assert delivered_on(base) == 0
    assert not (metrics_dir / f"counter_{worker.proc.pid}.db").exists()
