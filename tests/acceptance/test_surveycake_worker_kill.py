"""A `hookline worker` SIGKILLed while it fetches a SurveyCake answer loses nothing.

Real processes on one database (SQLite file or PostgreSQL): ``serve --no-worker`` takes
SurveyCake's notification, worker 1 claims it and hangs on the query API (the fake
never answers its first query), and is killed. Worker 2 takes the notification over
once worker 1 has missed its heartbeats for ``HOOKLINE_WORKER_DEAD_AFTER`` (3 s), long
before the lease (``HOOKLINE_LEASE_SECONDS``, two minutes here) would run out, and
publishes one event.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hookline.devtools.fake_surveycake import FakeSurveyCake, demo_answer
from tests.support.process import free_port, wait_until
from tests.support.shared_db import Processes, backend_env, make_platform, ok

SVID = "killMe"
KEY, IV = "0123456789abcdef", "fedcba9876543210"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def processes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Processes]:
    with backend_env(
        request.param, tmp_path / "var", concurrency=4, lease_seconds=120.0, send_timeout=2.0
    ) as env:
        procs = Processes(env)
        try:
            yield procs
        finally:
            procs.stop_all()


def test_a_killed_workers_notification_is_fetched_by_another(processes: Processes) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes.serve("serve", port)
    worker1 = processes.worker("worker 1")
    with FakeSurveyCake().running() as fake, httpx.Client(timeout=30) as api:
        platform = make_platform(base, api, "SurveyCake kill")
        fake.add_survey(SVID, KEY, IV)
        body = {"svid": SVID, "hash_key": KEY, "iv_key": IV, "base_url": fake.base_url}
        intake = ok(platform.api.post("/v1/surveycake/surveys", json=body), 201)["intake_url"]
        answer_hash = fake.submit(SVID, demo_answer(svid=SVID))
        fake.faults[answer_hash] = ["hang"]
        ok(httpx.post(intake, data={"svid": SVID, "hash": answer_hash}, timeout=10))

        wait_until("worker 1 fetching", lambda: len(fake.queries) == 1, timeout=30)
        worker1.proc.kill()
        worker1.proc.wait(timeout=10)
        assert worker1.proc.returncode == -signal.SIGKILL

        def state() -> dict[str, object]:
            rows = ok(platform.api.get("/v1/surveycake/notifications"))["data"]
            assert len(rows) == 1
            return dict(rows[0])

        assert state()["state"] == "in_flight"  # the dead worker's lease holds it
        processes.worker("worker 2")
        # well within the lease: only the missed heartbeats can have freed it
        wait_until("the answer published", lambda: state()["state"] == "published", 60)
        row = state()
        assert row["attempts"] == 2 and row["event_id"]
        assert fake.queries == [f"{SVID}/{answer_hash}"] * 2
        event = ok(platform.api.get(f"/v1/events/{row['event_id']}"))
        assert event["topic"] == "form.surveycake_submitted"
        assert event["producer_id"] == f"surveycake:{SVID}:{answer_hash}"
