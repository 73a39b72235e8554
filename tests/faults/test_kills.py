"""SIGKILL of a worker and of the API mid-burst: no accepted event is lost.

At least once: every event that got a ``202`` reaches the receiver, duplicates are
counted and printed, never required to be zero. ``make soak`` runs it at 100,000.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.faults.kills import Cluster, Plan, kill_along, settle
from tests.faults.producer import Producer
from tests.support.counting_receiver import CountingReceiver
from tests.support.process import free_port
from tests.support.shared_db import Processes, backend_env, backend_of, make_platform

PLAN = Plan.from_env()
WORKER_CONCURRENCY = 50


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    with backend_env(
        request.param,
        tmp_path / "var",
        concurrency=WORKER_CONCURRENCY,
        lease_seconds=3.0,
        send_timeout=2.0,
        HOOKLINE_WEBHOOK_CONCURRENCY=str(2 * WORKER_CONCURRENCY),
    ) as env:
        yield env


def test_sigkills_mid_burst_lose_no_accepted_event(
    env: dict[str, str], processes: Processes, receiver: CountingReceiver
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = processes.serve("serve 1", port)  # it migrates before the workers start
    workers = [processes.worker("worker 1"), processes.worker("worker 2")]
    cluster = Cluster(processes, port, server, workers)
    with httpx.Client(timeout=30) as api:
        platform = make_platform(base, api, "Kill test")
        webhook_id = platform.add_webhook("receiver", receiver.url())
        producer = Producer(base, platform.id, PLAN.events, batch=PLAN.batch, rate=PLAN.rate)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=1) as pool:
            publishing = pool.submit(producer.run)
            kill_along(cluster, PLAN, producer, publishing, receiver)
            publishing.result(timeout=PLAN.patience)
        outcome = settle(env, api, webhook_id, producer, receiver, PLAN.patience, started)
    print("\n" + outcome.line(backend_of(env), cluster))
    print(f"producer answers: {dict(producer.statuses)} {outcome.detail}")
    assert outcome.accepted == PLAN.events
    assert outcome.lost == 0, outcome
    assert outcome.unknown == 0, outcome
    assert outcome.listed == outcome.accepted, outcome  # the delivery log shows them all
    cluster.check_alive()
