"""A worker SIGKILLed in the middle of 5,000 deliveries loses none of them.

Real processes: ``hookline serve --no-worker`` for the API and ``hookline worker`` for
delivery, sharing one database (SQLite file or PostgreSQL). The receiver lives in the
test process. It answers the first ``HOLD_AFTER`` deliveries at once, then stops
answering (holds every further request open), so the worker is certain to have
requests in flight when it is killed. After the kill the receiver answers again, a
second worker starts, takes over the dead worker's expired leases, and every event
must arrive. Duplicates are allowed (at least once), but only for the deliveries the
dead worker had leased.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookline.devtools.fake import fake_data
from tests.support.counting_receiver import CountingReceiver as Receiver
from tests.support.process import free_port, wait_until
from tests.support.shared_db import (
    INGEST_TOKEN,
    TOPIC,
    Processes,
    backend_env,
    backend_of,
    describe,
    list_deliveries,
    make_platform,
    ok,
    unfinished,
)

EVENTS = 5_000
BATCH = 1_000
HOLD_AFTER = 1_000  # distinct deliveries answered before the receiver stops answering
CONCURRENCY = 100  # the worker's sending slots: the most it can have in flight
SEND_TIMEOUT = 2.0
LEASE_SECONDS = 3.0


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def hookline_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment both processes share: one SQLite file, or a fresh PG database."""
    with backend_env(
        request.param,
        tmp_path / "var",
        concurrency=CONCURRENCY,
        lease_seconds=LEASE_SECONDS,
        send_timeout=SEND_TIMEOUT,
    ) as env:
        yield env


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(hold_after=HOLD_AFTER)
    r.start()
    yield r
    r.stop()


@pytest.fixture
def processes(hookline_env: dict[str, str]) -> Iterator[Processes]:
    procs = Processes(hookline_env)
    try:
        yield procs
    finally:
        procs.stop_all()


def publish(base: str, platform_id: str) -> dict[str, dict[str, Any]]:
    """Publish EVENTS events in batches of BATCH; answers their data by event id."""
    published: dict[str, dict[str, Any]] = {}
    headers = {"Authorization": f"Bearer {INGEST_TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as ingest:
        for start in range(0, EVENTS, BATCH):
            batch: list[dict[str, Any]] = [
                {
                    "platform_id": platform_id,
                    "topic": TOPIC,
                    "data": fake_data(TOPIC, random.Random(i)),
                    "id": f"kill-test-{i}",
                }
                for i in range(start, start + BATCH)
            ]
            answer = ok(ingest.post("/internal/v1/events/batch", json={"events": batch}), 202)
            assert (answer["accepted"], answer["rejected"]) == (BATCH, 0), answer
            for sent, result in zip(batch, answer["results"], strict=True):
                assert result["deliveries"] == 1 and not result.get("duplicate"), result
                published[result["event_id"]] = sent["data"]
    assert len(published) == EVENTS
    return published


# -- the test ----------------------------------------------------------------------


def test_a_killed_worker_loses_no_delivery(
    hookline_env: dict[str, str], receiver: Receiver, processes: Processes
) -> None:
    with httpx.Client(timeout=30) as api:
        try:
            _run_scenario(hookline_env, receiver, processes, api)
        except BaseException:
            print("\n" + processes.report())  # shown with the failure (or live with -s)
            raise


def _run_scenario(
    env: dict[str, str],
    receiver: Receiver,
    processes: Processes,
    api: httpx.Client,
) -> None:
    started = time.monotonic()
    backend = backend_of(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # the server migrates first, so the worker does not race it to create the schema
    processes.serve("serve", port)
    worker1 = processes.worker("worker 1")

    platform = make_platform(base, api, "Kill test")
    webhook_id = platform.add_webhook("receiver", receiver.url())
    secret = platform.secret(webhook_id)

    # 5,000 events in batches of 1,000, published alongside, so that the kill below
    # comes as soon as the receiver holds requests, whatever the ingest speed
    with ThreadPoolExecutor(max_workers=1) as pool:
        publishing = pool.submit(publish, base, platform.id)
        # The receiver holds every request after the first HOLD_AFTER. Once worker 1
        # has requests held (ideally all its slots), kill it: a held request times out
        # after SEND_TIMEOUT, so the kill must come well before that.
        deadline = time.monotonic() + 90
        while not receiver.wait_for(lambda r: len(r.held_keys) > 0, timeout=0.2):
            if publishing.done() and publishing.exception() is not None:
                publishing.result()
            if time.monotonic() > deadline:
                pytest.fail(f"the receiver never held a request: {len(receiver.counts)} seen")
        receiver.wait_for(lambda r: len(r.held_keys) >= CONCURRENCY, timeout=1.0)
        worker1.proc.kill()
        worker1.proc.wait(timeout=10)
        published = publishing.result(timeout=120)
    assert worker1.proc.returncode == -signal.SIGKILL
    _, counts_at_kill, held = receiver.snapshot()
    leased_at_kill = {d["idempotency_key"] for d in list_deliveries(api, webhook_id, "in_flight")}
    delivered_at_kill = len(list_deliveries(api, webhook_id, "delivered"))
    print(
        f"\n[{backend}] worker 1 killed: the receiver had seen {len(counts_at_kill)} deliveries"
        f" and held {len(held)}; the API had {delivered_at_kill} delivered and"
        f" {len(leased_at_kill)} in flight"
    )
    assert 0 < len(counts_at_kill) < EVENTS, "the kill was not in the middle of the work"
    assert held, "worker 1 had nothing in flight when it was killed"
    # an unanswered request cannot have been settled: its delivery is still leased
    assert held <= leased_at_kill, describe(api, webhook_id, held - leased_at_kill)
    assert len(leased_at_kill) <= 2 * CONCURRENCY  # sending slots, plus results not yet written

    receiver.release()
    worker2 = processes.worker("worker 2")

    if not receiver.wait_for(lambda r: len(r.counts) >= EVENTS, timeout=120):
        pytest.fail(f"after 120 s only {len(receiver.snapshot()[1])} of {EVENTS} arrived")
    wait_until("no pending or in-flight delivery", lambda: unfinished(api, webhook_id) == 0, 60)

    assert worker2.terminate(timeout=30) == 0, "worker 2 did not exit 0 on SIGTERM"

    hits, counts, _ = receiver.snapshot()
    delivered = list_deliveries(api, webhook_id, "delivered")
    assert not list_deliveries(api, webhook_id, "failed")
    assert len(delivered) == EVENTS
    key_to_event = {d["idempotency_key"]: d["event_id"] for d in delivered}
    assert len(key_to_event) == EVENTS  # one key per delivery
    assert set(key_to_event.values()) == set(published)

    # none lost: every delivery's key arrived, and nothing else did
    assert len(counts) == EVENTS, f"{EVENTS - len(counts)} lost"
    assert set(counts) == set(key_to_event)
    # each request was the event it names: valid JSON, right topic and data, signed
    for hit in hits:
        body = json.loads(hit.body)
        assert list(body) == ["timestamp", "topic", "data"]
        assert body["topic"] == TOPIC
        assert body["data"] == published[key_to_event[hit.key]]
        expected = hmac.new(secret.encode(), hit.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(hit.signature, expected), hit.key

    duplicates = len(hits) - len(counts)
    twice = {k for k, n in counts.items() if n > 1}
    print(
        f"[{backend}] {len(hits)} requests for {len(counts)} deliveries: {duplicates}"
        f" duplicates; {time.monotonic() - started:.1f} s"
    )
    # at least once: what worker 1 left unanswered was sent again ...
    assert held <= twice, describe(api, webhook_id, held - twice)
    # ... and only what it had leased was sent twice, and only twice
    assert 0 <= duplicates <= len(leased_at_kill)
    assert twice <= leased_at_kill, describe(api, webhook_id, twice - leased_at_kill)
    assert max(counts.values()) <= 2
