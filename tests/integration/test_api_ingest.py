"""The producers' ingest API: accepted events, clear refusals, idempotency, batches."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from hookline.app import create_app
from hookline.catalog import TOPICS
from hookline.config import Settings
from hookline.services.context import Context
from tests.conftest import FakeClock
from tests.integration.conftest import PRODUCER, PlatformHandle, webhook_body

TOPIC = "receipt.receipt_validated"
SAMPLE: dict[str, Any] = dict(TOPICS[TOPIC].sample)


def event(platform: PlatformHandle, **overrides: Any) -> dict[str, Any]:
    return {"platform_id": platform.id, "topic": TOPIC, "data": SAMPLE, **overrides}


def add_webhooks(client: TestClient, platform: PlatformHandle, n: int, **body: Any) -> list[str]:
    ids = []
    for i in range(n):
        r = client.post(
            "/v1/webhooks", json=webhook_body(name=f"hook {i}", **body), headers=platform.headers
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def test_an_event_gets_one_delivery_per_subscribed_working_webhook(
    client: TestClient, platform: PlatformHandle
) -> None:
    first, second, _other = add_webhooks(client, platform, 2) + add_webhooks(
        client, platform, 1, topics=["message.first_open"]
    )
    client.post(f"/v1/webhooks/{second}/stop", headers=platform.headers)
    r = client.post("/internal/v1/events", json=event(platform), headers=PRODUCER)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["deliveries"] == 1 and body["event_id"].startswith("evt_")
    e = client.get(f"/v1/events/{body['event_id']}", headers=platform.headers).json()
    assert [d["webhook_id"] for d in e["deliveries"]] == [first]
    assert e["deliveries"][0]["state"] == "pending"


def test_the_body_is_rendered_once_in_the_platform_timezone(
    client: TestClient, make_platform: Any, clock: FakeClock
) -> None:
    platform = make_platform(timezone="America/New_York")
    add_webhooks(client, platform, 1)
    r = client.post(
        "/internal/v1/events",
        json=event(platform, occurred_at="2026-11-28T15:43:26.5+08:00"),
        headers=PRODUCER,
    )
    e = client.get(f"/v1/events/{r.json()['event_id']}", headers=platform.headers).json()
    assert e["body"] == json.dumps(
        {"timestamp": "2026-11-28T02:43:26.500000-05:00", "topic": TOPIC, "data": SAMPLE}
    )


def test_schema_errors_list_every_failing_path(
    client: TestClient, platform: PlatformHandle
) -> None:
    data = {**SAMPLE, "line_uid": "nope", "items": [{**SAMPLE["items"][0], "amount": "65"}]}
    del data["number"]
    r = client.post("/internal/v1/events", json=event(platform, data=data), headers=PRODUCER)
    assert r.status_code == 422
    problem = r.json()
    assert problem["code"] == "validation_error"
    fields = {e["field"] for e in problem["errors"]}
    assert {"data.line_uid", "data.items[0].amount"} <= fields
    assert any("number" in e["message"] for e in problem["errors"])


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"topic": "receipt.nope"}, "topic", "unknown_topic"),
        ({"platform_id": "pf_missing"}, "platform_id", "unknown_platform"),
        ({"occurred_at": "2026-11-28T10:00:00"}, "occurred_at", "naive_datetime"),
    ],
)
def test_unknown_topic_platform_or_naive_time_is_422(
    client: TestClient, platform: PlatformHandle, overrides: dict[str, str], field: str, code: str
) -> None:
    r = client.post("/internal/v1/events", json=event(platform, **overrides), headers=PRODUCER)
    assert r.status_code == 422, r.text
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in r.json()["errors"]
    ]


def test_invalid_json_is_400_and_oversized_is_413(
    client: TestClient, platform: PlatformHandle
) -> None:
    r = client.post(
        "/internal/v1/events",
        content=b"{not json",
        headers={**PRODUCER, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_json"
    big = event(platform, data={**SAMPLE, "channel": "x" * (256 * 1024)})
    r = client.post("/internal/v1/events", json=big, headers=PRODUCER)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


def test_ingest_needs_the_ingest_token(
    client: TestClient, platform: PlatformHandle, ctx: Context
) -> None:
    assert client.post("/internal/v1/events", json=event(platform)).status_code == 401
    r = client.post("/internal/v1/events", json=event(platform), headers=platform.headers)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    with TestClient(create_app(Settings(operator_token=SecretStr("x")), ctx)) as off:
        r = off.post("/internal/v1/events", json=event(platform), headers=PRODUCER)
    assert r.status_code == 503 and r.json()["code"] == "ingest_disabled"


def test_the_same_producer_id_within_24h_creates_nothing(
    client: TestClient, platform: PlatformHandle, clock: FakeClock
) -> None:
    (hook,) = add_webhooks(client, platform, 1)
    first = client.post("/internal/v1/events", json=event(platform, id="rcpt-1"), headers=PRODUCER)
    clock.advance(hours=23)
    again = client.post("/internal/v1/events", json=event(platform, id="rcpt-1"), headers=PRODUCER)
    assert again.status_code == 202
    assert again.json()["event_id"] == first.json()["event_id"]
    assert again.json()["deliveries"] == 1 and again.json()["duplicate"] is True
    listed = client.get(f"/v1/webhooks/{hook}/deliveries", headers=platform.headers).json()
    assert len(listed["data"]) == 1
    clock.advance(hours=2)
    later = client.post("/internal/v1/events", json=event(platform, id="rcpt-1"), headers=PRODUCER)
    assert later.json()["event_id"] != first.json()["event_id"]
    assert later.json()["duplicate"] is False
    clock.advance(hours=23)  # the id's window now runs from the later event
    last = client.post("/internal/v1/events", json=event(platform, id="rcpt-1"), headers=PRODUCER)
    assert last.json()["event_id"] == later.json()["event_id"] and last.json()["duplicate"]


def test_a_batch_answers_per_item_and_keeps_the_good_ones(
    client: TestClient, platform: PlatformHandle
) -> None:
    (hook,) = add_webhooks(client, platform, 1)
    events = [
        event(platform, id="a"),
        event(platform, topic="nope"),
        event(platform, id="a"),  # the same producer id inside one batch
        event(platform, data={}),
        event(platform),
    ]
    r = client.post("/internal/v1/events/batch", json={"events": events}, headers=PRODUCER)
    assert r.status_code == 202, r.text
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (3, 2)
    ok, bad_topic, dup, bad_data, plain = body["results"]
    assert dup["event_id"] == ok["event_id"] and dup["duplicate"] is True
    assert bad_topic["error"]["code"] == "validation_error"
    assert bad_topic["error"]["errors"][0]["field"] == "topic"
    assert "event_id" not in bad_data and bad_data["error"]["status"] == 422
    assert plain["deliveries"] == 1
    listed = client.get(f"/v1/webhooks/{hook}/deliveries", headers=platform.headers).json()
    assert len(listed["data"]) == 2


def test_a_batch_holds_at_most_1000_events(client: TestClient, platform: PlatformHandle) -> None:
    r = client.post(
        "/internal/v1/events/batch",
        json={"events": [event(platform)] * 1001},
        headers=PRODUCER,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "events"


def test_concurrent_ingests_of_one_producer_id_make_one_event(
    client: TestClient, platform: PlatformHandle, ctx: Context
) -> None:
    """Eight threads race with the same ids; each id ends as exactly one event."""
    from concurrent.futures import ThreadPoolExecutor

    from hookline.services.ingest import IncomingEvent, Ingested, ingest

    (hook,) = add_webhooks(client, platform, 1)
    batch = [IncomingEvent(platform.id, TOPIC, SAMPLE, producer_id=f"p-{i}") for i in range(20)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: ingest(ctx, batch), range(8)))
    results = [[r for r in a if isinstance(r, Ingested)] for a in answers]
    assert all(len(a) == 20 for a in results)
    for i in range(20):
        ids = {a[i].event_id for a in results}
        assert len(ids) == 1
    fresh = sum(1 for a in results for r in a if not r.duplicate)
    assert fresh == 20
    listed = client.get(
        f"/v1/webhooks/{hook}/deliveries", params={"limit": 200}, headers=platform.headers
    ).json()
    assert len(listed["data"]) == 20


def test_concurrent_ingests_of_a_stale_producer_id_make_one_new_event(
    client: TestClient, platform: PlatformHandle, ctx: Context, clock: FakeClock
) -> None:
    """Ids past their window: eight racing threads renew each exactly once, together."""
    from concurrent.futures import ThreadPoolExecutor

    from hookline.services.ingest import IncomingEvent, Ingested, ingest

    add_webhooks(client, platform, 1)
    batch = [IncomingEvent(platform.id, TOPIC, SAMPLE, producer_id=f"s-{i}") for i in range(20)]
    old = [r for r in ingest(ctx, batch) if isinstance(r, Ingested)]
    clock.advance(hours=25)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: ingest(ctx, batch), range(8)))
    results = [[r for r in a if isinstance(r, Ingested)] for a in answers]
    for i in range(20):
        assert len({a[i].event_id for a in results}) == 1
        assert results[0][i].event_id != old[i].event_id
    assert sum(1 for a in results for r in a if not r.duplicate) == 20
