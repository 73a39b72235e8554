"""``/metrics`` after real work: an ingest through the API, a worker's attempts against a
real receiver, and the queue gauges read from the database at scrape time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from hookline.app import create_app
from hookline.config import Settings
from hookline.dispatch.worker import Worker
from hookline.services.context import Context
from tests.conftest import FakeClock
from tests.integration.conftest import INGEST_TOKEN, PRODUCER
from tests.support.engine import SAMPLE, TOPIC, make_setup, make_worker
from tests.support.prom import value
from tests.support.receiver import Answer, Receiver

METRICS_TOKEN = "hlm_test-metrics-token"
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
async def worker(ctx: Context) -> AsyncIterator[Worker]:
    w = make_worker(ctx)
    yield w
    await w.sender.close()


def client_for(ctx: Context, metrics_token: str | None = METRICS_TOKEN) -> TestClient:
    settings = Settings(
        ingest_token=SecretStr(INGEST_TOKEN),
        metrics_token=SecretStr(metrics_token) if metrics_token else None,
    )
    return TestClient(create_app(settings, ctx))


def scrape(client: TestClient) -> str:
    r = client.get("/metrics", headers=SCRAPER)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    return r.text


def settled(page: str, outcome: str, error: str) -> float:
    return value(page, "hookline_deliveries_settled_total", outcome=outcome, error=error)


async def test_counters_move_after_an_ingest_and_a_delivery(
    ctx: Context, receiver: Receiver, worker: Worker, clock: FakeClock
) -> None:
    receiver.policy = lambda r: Answer(status=500 if r.path == "/down" else 200)
    setup = make_setup(ctx, [receiver.url("/ok"), receiver.url("/down")])
    failing_hook = setup.webhook_ids[1]
    with client_for(ctx) as client:
        before = scrape(client)
        events = [
            {"platform_id": setup.platform_id, "topic": TOPIC, "data": SAMPLE},
            {"platform_id": setup.platform_id, "topic": "no.such_topic", "data": {}},
        ]
        r = client.post("/internal/v1/events/batch", json={"events": events}, headers=PRODUCER)
        assert r.status_code == 202 and r.json()["accepted"] == 1
        await worker.run_until_idle()
        after = scrape(client)

        def moved(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert moved("hookline_ingested_events_total", topic=TOPIC, outcome="accepted") == 1
        assert moved("hookline_ingested_events_total", topic="other", outcome="refused") == 1
        assert moved("hookline_ingested_deliveries_total") == 2
        assert settled(after, "delivered", "none") - settled(before, "delivered", "none") == 1
        assert settled(after, "retry", "http_status") - settled(before, "retry", "http_status") == 1
        assert moved("hookline_attempt_duration_seconds_count") == 2
        # read from the database at scrape time: one retry waits, its webhook is failing
        assert value(after, "hookline_queue_deliveries", state="pending") == 1
        assert value(after, "hookline_queue_deliveries", state="in_flight") == 0
        assert value(after, "hookline_queue_due_deliveries") == 0
        assert value(after, "hookline_queue_oldest_due_age_seconds") == 0
        assert value(after, "hookline_webhooks_failing") == 1
        assert value(after, "hookline_webhook_failing_seconds", webhook_id=failing_hook) == 0
        assert value(after, "hookline_writes_failing") == 0

        clock.advance(hours=2)  # the retry is long due now, and nobody has claimed it
        later = scrape(client)
    assert value(later, "hookline_queue_due_deliveries") == 1
    assert 0 < value(later, "hookline_queue_oldest_due_age_seconds") < 2 * 3600
    assert value(later, "hookline_webhook_failing_seconds", webhook_id=failing_hook) == 7200


@pytest.mark.parametrize(
    ("configured", "sent", "why"),
    [
        (None, METRICS_TOKEN, "disabled"),
        (METRICS_TOKEN, None, "Authorization"),
        (METRICS_TOKEN, "hlm_wrong", "not valid"),
    ],
)
def test_metrics_need_their_own_token(
    ctx: Context, configured: str | None, sent: str | None, why: str
) -> None:
    headers = {"Authorization": f"Bearer {sent}"} if sent else {}
    with client_for(ctx, configured) as client:
        r = client.get("/metrics", headers=headers)
    assert r.status_code == 401
    assert why in r.json()["detail"]
    assert "hookline_" not in r.text
