"""The delivery log API: listing, details, events, test sends, resend and recover."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from hookline.catalog import TOPICS
from hookline.services.context import Context
from hookline.store.tables import deliveries
from tests.conftest import FakeClock
from tests.integration.conftest import PRODUCER, PlatformHandle, webhook_body
from tests.support.engine import make_worker
from tests.support.receiver import Answer, Receiver

TOPIC = "receipt.receipt_validated"


def hook_at(client: TestClient, platform: PlatformHandle, url: str, **body: Any) -> str:
    r = client.post("/v1/webhooks", json=webhook_body(url=url, **body), headers=platform.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def publish(client: TestClient, platform: PlatformHandle, n: int = 1) -> list[str]:
    events = [{"platform_id": platform.id, "topic": TOPIC, "data": TOPICS[TOPIC].sample}] * n
    r = client.post("/internal/v1/events/batch", json={"events": events}, headers=PRODUCER)
    assert r.status_code == 202, r.text
    return [item["event_id"] for item in r.json()["results"]]


def deliver_all(ctx: Context) -> None:
    async def run() -> None:
        worker = make_worker(ctx)
        try:
            await worker.run_until_idle()
        finally:
            await worker.sender.close()

    asyncio.run(run())


def secret_of(client: TestClient, platform: PlatformHandle, hook: str) -> str:
    r = client.get(f"/v1/webhooks/{hook}/secret", headers=platform.headers)
    assert r.status_code == 200, r.text
    return str(r.json()["secret"])


def test_test_send_posts_the_sample_in_maac_shape_and_reports(
    client: TestClient, platform: PlatformHandle, receiver: Receiver
) -> None:
    hook = hook_at(client, platform, receiver.url())
    receiver.policy = lambda _r: Answer(status=202, body="thanks")
    r = client.post(
        f"/v1/webhooks/{hook}/test", json={"topic": "message.first_open"}, headers=platform.headers
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["status_code"] == 202 and result["response_body"] == "thanks"
    assert result["error"] is None and result["latency_ms"] > 0
    (request,) = receiver.received()
    assert request.headers["CrescLab-Test"] == "true"
    assert result["request_body"].encode() == request.body
    body = json.loads(request.body)
    assert list(body) == ["timestamp", "topic", "data"]
    assert body["topic"] == "message.first_open"
    assert body["data"] == TOPICS["message.first_open"].sample
    secret = secret_of(client, platform, hook)
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["CrescLab-Signature"] == expected
    assert result["request_headers"]["CrescLab-Signature"] == expected
    # kept in the log like any delivery, with its attempt
    d = client.get(f"/v1/deliveries/{result['delivery_id']}", headers=platform.headers).json()
    assert d["state"] == "delivered" and d["attempt_log"][0]["trigger"] == "test"


def test_a_failed_test_send_reports_the_error(
    client: TestClient, platform: PlatformHandle, receiver: Receiver
) -> None:
    hook = hook_at(client, platform, receiver.url())
    receiver.policy = lambda _r: Answer(status=500, body="boom")
    r = client.post(f"/v1/webhooks/{hook}/test", json={"topic": TOPIC}, headers=platform.headers)
    assert r.json()["status_code"] == 500 and r.json()["error"] == "http_status"
    r = client.post(f"/v1/webhooks/{hook}/test", json={"topic": "x.y"}, headers=platform.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "topic"


def test_a_test_send_failing_in_tls_is_reported_and_kept(
    client: TestClient, platform: PlatformHandle, receiver: Receiver
) -> None:
    # https to the receiver's plain-HTTP port: the handshake cannot succeed
    tls_url = receiver.url().replace("http://", "https://", 1)
    hook = hook_at(client, platform, tls_url)
    r = client.post(f"/v1/webhooks/{hook}/test", json={"topic": TOPIC}, headers=platform.headers)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["status_code"], result["error"]) == (None, "tls_error")
    assert result["error_detail"].startswith(f"TLS error with 127.0.0.1:{receiver.port}: ")
    d = client.get(f"/v1/deliveries/{result['delivery_id']}", headers=platform.headers).json()
    assert d["state"] == "failed" and d["attempt_log"][0]["error"] == "tls_error"


def test_deliveries_list_filter_page_and_detail(
    client: TestClient, platform: PlatformHandle, receiver: Receiver, ctx: Context
) -> None:
    hook = hook_at(client, platform, receiver.url())
    publish(client, platform, 5)
    deliver_all(ctx)
    publish(client, platform, 2)
    url = f"/v1/webhooks/{hook}/deliveries"
    page = client.get(url, params={"limit": 3}, headers=platform.headers).json()
    assert len(page["data"]) == 3 and page["next_cursor"]
    rest = client.get(
        url, params={"limit": 10, "cursor": page["next_cursor"]}, headers=platform.headers
    ).json()
    assert len(rest["data"]) == 4 and rest["next_cursor"] is None
    ids = [d["id"] for d in page["data"] + rest["data"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 7
    pending = client.get(url, params={"state": "pending"}, headers=platform.headers).json()
    assert len(pending["data"]) == 2
    bad = client.get(url, params={"state": "lost"}, headers=platform.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "state"
    delivered = client.get(url, params={"state": "delivered"}, headers=platform.headers).json()
    detail = client.get(
        f"/v1/deliveries/{delivered['data'][0]['id']}", headers=platform.headers
    ).json()
    (attempt,) = detail["attempt_log"]
    assert attempt["status_code"] == 200 and attempt["response_body"] == "OK"
    assert attempt["trigger"] == "worker"


def test_other_platforms_see_nothing(
    client: TestClient, make_platform: Any, receiver: Receiver
) -> None:
    mine, theirs = make_platform(), make_platform()
    hook = hook_at(client, mine, receiver.url())
    (event_id,) = publish(client, mine)
    delivery = client.get(f"/v1/webhooks/{hook}/deliveries", headers=mine.headers).json()
    delivery_id = delivery["data"][0]["id"]
    for path in (
        f"/v1/webhooks/{hook}/deliveries",
        f"/v1/deliveries/{delivery_id}",
        f"/v1/events/{event_id}",
    ):
        assert client.get(path, headers=theirs.headers).status_code == 404, path
    r = client.post(f"/v1/deliveries/{delivery_id}/resend", headers=theirs.headers)
    assert r.status_code == 404
    r = client.post(
        f"/v1/webhooks/{hook}/recover",
        json={"since": "2026-01-01T00:00:00Z"},
        headers=theirs.headers,
    )
    assert r.status_code == 404
    assert receiver.received() == []


def test_resend_uses_the_same_key_and_body(
    client: TestClient, platform: PlatformHandle, receiver: Receiver, ctx: Context
) -> None:
    hook = hook_at(client, platform, receiver.url())
    receiver.policy = lambda _r: Answer(status=400)
    publish(client, platform)
    deliver_all(ctx)
    (failed,) = client.get(
        f"/v1/webhooks/{hook}/deliveries", params={"state": "failed"}, headers=platform.headers
    ).json()["data"]
    receiver.policy = lambda _r: Answer(status=200)
    r = client.post(f"/v1/deliveries/{failed['id']}/resend", headers=platform.headers)
    assert r.status_code == 200 and r.json()["status_code"] == 200
    first, second = receiver.received()
    assert first.body == second.body
    assert first.headers["CrescLab-Idempotency-Key"] == second.headers["CrescLab-Idempotency-Key"]
    assert "CrescLab-Test" not in second.headers
    detail = client.get(f"/v1/deliveries/{failed['id']}", headers=platform.headers).json()
    assert detail["state"] == "delivered" and detail["attempts"] == 2
    assert [a["trigger"] for a in detail["attempt_log"]] == ["worker", "resend"]


def test_resend_works_after_delete_and_waits_for_an_attempt_in_flight(
    client: TestClient, platform: PlatformHandle, receiver: Receiver, ctx: Context
) -> None:
    hook = hook_at(client, platform, receiver.url())
    receiver.policy = lambda _r: Answer(status=400)
    publish(client, platform, 2)
    deliver_all(ctx)
    first, second = client.get(f"/v1/webhooks/{hook}/deliveries", headers=platform.headers).json()[
        "data"
    ]
    with ctx.db.write() as conn:  # as if a worker held it right now
        conn.execute(
            update(deliveries).where(deliveries.c.id == first["id"]).values(state="in_flight")
        )
    r = client.post(f"/v1/deliveries/{first['id']}/resend", headers=platform.headers)
    assert r.status_code == 409 and r.json()["code"] == "delivery_in_flight"
    assert client.delete(f"/v1/webhooks/{hook}", headers=platform.headers).status_code == 204
    receiver.policy = lambda _r: Answer(status=200)
    r = client.post(f"/v1/deliveries/{second['id']}/resend", headers=platform.headers)
    assert r.status_code == 200 and r.json()["status_code"] == 200  # history stays resendable
    assert len(receiver.received()) == 3


def test_recover_requeues_the_failed_deliveries_of_a_window(
    client: TestClient,
    platform: PlatformHandle,
    receiver: Receiver,
    ctx: Context,
    clock: FakeClock,
) -> None:
    hook = hook_at(client, platform, receiver.url())
    receiver.policy = lambda _r: Answer(status=404)
    publish(client, platform, 2)
    since = clock.now
    clock.advance(hours=1)
    publish(client, platform, 3)
    deliver_all(ctx)
    r = client.post(
        f"/v1/webhooks/{hook}/recover",
        json={"since": (since + timedelta(minutes=30)).isoformat()},
        headers=platform.headers,
    )
    assert r.status_code == 200 and r.json() == {"requeued": 3}
    receiver.policy = lambda _r: Answer(status=200)
    deliver_all(ctx)
    states = [
        d["state"]
        for d in client.get(f"/v1/webhooks/{hook}/deliveries", headers=platform.headers).json()[
            "data"
        ]
    ]
    assert sorted(states) == ["delivered"] * 3 + ["failed"] * 2
    r = client.post(
        f"/v1/webhooks/{hook}/recover",
        json={"since": "2030-01-01T00:00:00Z"},
        headers=platform.headers,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "until"


def test_retry_policy_is_a_platform_setting(client: TestClient, platform: PlatformHandle) -> None:
    assert client.get("/v1/platform", headers=platform.headers).json()["retry_policy"] == (
        "extended"
    )
    r = client.patch("/v1/platform", json={"retry_policy": "maac"}, headers=platform.headers)
    assert r.status_code == 200 and r.json()["retry_policy"] == "maac"
    r = client.patch("/v1/platform", json={"retry_policy": "forever"}, headers=platform.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "retry_policy"
