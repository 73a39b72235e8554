"""A SIGKILLed worker's webhooks are delivered again by the others within 5 s.

Real processes: ``hookline serve --no-worker`` and two ``hookline worker``, one
database (SQLite file or PostgreSQL). The receiver holds every request, so worker 1
fills its webhook's in-flight cap with requests that never end; worker 2 then starts
and can claim nothing of that webhook (the cap counts worker 1's leases). The receiver
starts answering and worker 1 is killed. Its leases last a minute, far beyond the
test's deadline: only its silent heartbeat can give them back. Worker 2 must send
that webhook's deliveries again within 5 s of the kill, and each lease it took back
shows an ``outcome_unknown`` attempt. ``/readyz`` follows the workers' heartbeats.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hookline.devtools.fake import fake_data
from tests.acceptance.test_worker_kill import hookline_env
from tests.support.counting_receiver import CountingReceiver as Receiver
from tests.support.process import free_port, wait_until
from tests.support.server import wait_healthy
from tests.support.shared_db import (
    INGEST_TOKEN,
    TOPIC,
    Processes,
    list_deliveries,
    make_platform,
)
from tests.support.shared_db import ok as _ok

__all__ = ["hookline_env"]  # the shared fixture: one SQLite file, or a fresh PG database

EVENTS = 20
CAP = 4  # the webhook's in-flight cap, across workers
RESUME_WITHIN = 5.0  # seconds from the kill to worker 2's first request


@pytest.fixture
def held_receiver() -> Iterator[Receiver]:
    r = Receiver(hold_after=0)  # holds every request until released
    r.start()
    yield r
    r.stop()


@pytest.fixture
def procs(hookline_env: dict[str, str]) -> Iterator[Processes]:
    env = {
        **hookline_env,
        "HOOKLINE_LEASE_SECONDS": "60",  # expiry cannot be what frees the leases
        "HOOKLINE_SEND_TIMEOUT": "50",
        "HOOKLINE_WORKER_CONCURRENCY": "20",
        "HOOKLINE_WEBHOOK_CONCURRENCY": str(CAP),
    }
    p = Processes(env)
    try:
        yield p
    finally:
        p.stop_all()


def readyz(base: str) -> tuple[int, dict[str, Any]]:
    r = httpx.get(base + "/readyz", timeout=5)
    return r.status_code, r.json()


def test_a_killed_workers_webhook_resumes_within_5_s(
    held_receiver: Receiver, procs: Processes
) -> None:
    try:
        _scenario(held_receiver, procs)
    except BaseException:
        print("\n" + procs.report())
        raise


def _scenario(receiver: Receiver, procs: Processes) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = procs.start(
        "serve", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)
    )
    wait_healthy(server, base)
    status, body = readyz(base)
    assert (status, body["workers"], body.get("reason")) == (503, 0, "no worker alive")
    worker1 = procs.start("worker 1", "worker")
    wait_until("worker 1 beats", lambda: readyz(base)[1]["workers"] == 1, 60)

    with httpx.Client(base_url=base, timeout=30) as api:
        platform = make_platform(base, api, "Heartbeat")
        webhook_id = platform.add_webhook("held", receiver.url())
        events = [
            {
                "platform_id": platform.id,
                "topic": TOPIC,
                "data": fake_data(TOPIC, random.Random(i)),
            }
            for i in range(EVENTS)
        ]
        ingest = {"Authorization": f"Bearer {INGEST_TOKEN}"}
        r = httpx.post(
            base + "/internal/v1/events/batch", json={"events": events}, headers=ingest, timeout=30
        )
        assert _ok(r, 202)["accepted"] == EVENTS

        # worker 1 holds the webhook's whole cap, in requests that never end
        assert receiver.wait_for(lambda r: len(r.held_keys) == CAP, 60), receiver.snapshot()[1]
        worker2 = procs.start("worker 2", "worker")
        wait_until("worker 2 beats", lambda: readyz(base)[1]["workers"] == 2, 60)
        held = {d["id"] for d in list_deliveries(api, webhook_id, "in_flight")}
        assert len(held) == CAP and len(receiver.snapshot()[1]) == CAP  # worker 2 took none

        receiver.release()  # from now on every request is answered at once
        worker1.proc.kill()
        killed_at = time.monotonic()
        worker1.proc.wait(timeout=10)
        assert worker1.proc.returncode == -signal.SIGKILL

        resumed = receiver.wait_for(lambda r: len(r.hits) > CAP, 30)
        waited = time.monotonic() - killed_at
        print(f"\nworker 2 sent again {waited:.2f} s after the kill")
        assert resumed, "worker 2 never sent the killed worker's webhook anything"
        assert waited <= RESUME_WITHIN, f"{waited:.2f} s after the kill"

        wait_until(
            "every delivery delivered",
            lambda: len(list_deliveries(api, webhook_id, "delivered")) == EVENTS,
            60,
        )
        for delivery_id in held:
            detail = _ok(api.get(f"/v1/deliveries/{delivery_id}"))
            assert [a["error"] for a in detail["attempt_log"]] == ["outcome_unknown", None]
        assert readyz(base)[1]["workers"] == 1  # the dead one no longer counts
        assert worker2.terminate(timeout=30) == 0
        wait_until("no worker alive", lambda: readyz(base)[0] == 503, 10)
