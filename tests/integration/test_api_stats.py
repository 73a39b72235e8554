"""A webhook's health figures: counts, success rate, nearest-rank latency, the window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hookline.services.context import Context
from hookline.store.tables import attempts, deliveries
from tests.conftest import FakeClock
from tests.integration.conftest import PlatformHandle
from tests.integration.test_api_deliveries import TOPIC, deliver_all, hook_at, publish
from tests.support.receiver import Answer, Receiver, answering


def stats(client: TestClient, platform: PlatformHandle, hook: str, window: str = "24h") -> Any:
    r = client.get(f"/v1/webhooks/{hook}/stats?window={window}", headers=platform.headers)
    assert r.status_code == 200, r.text
    return r.json()


def set_latencies(ctx: Context, hook: str, values: list[float]) -> None:
    """Known latencies, so the percentiles have one right answer."""
    with ctx.db.write() as conn:
        ids = conn.execute(
            select(attempts.c.id)
            .join(deliveries, deliveries.c.id == attempts.c.delivery_id)
            .where(deliveries.c.webhook_id == hook, deliveries.c.is_test.is_(False))
            .order_by(attempts.c.id)
        ).scalars()
        for attempt_id, value in zip(list(ids), values, strict=True):
            conn.execute(
                update(attempts).where(attempts.c.id == attempt_id).values(latency_ms=value)
            )


def test_stats_count_delivered_and_failing_and_rank_latencies(
    client: TestClient, platform: PlatformHandle, receiver: Receiver, ctx: Context
) -> None:
    hook = hook_at(client, platform, receiver.url())
    publish(client, platform, 3)
    deliver_all(ctx)
    receiver.policy = answering(500)
    publish(client, platform, 1)  # fails once, then waits for its retry: failing now
    deliver_all(ctx)
    set_latencies(ctx, hook, [40.0, 10.0, 30.0, 20.0])

    body = stats(client, platform, hook)
    assert body == {
        "window": "24h",
        "delivered": 3,
        "failed": 1,
        "success_rate": 0.75,
        "p50_ms": 20.0,
        "p95_ms": 40.0,
        "health": "degraded",
    }


def test_test_sends_are_left_out(
    client: TestClient, platform: PlatformHandle, receiver: Receiver
) -> None:
    hook = hook_at(client, platform, receiver.url())
    r = client.post(f"/v1/webhooks/{hook}/test", json={"topic": TOPIC}, headers=platform.headers)
    assert r.status_code == 200, r.text
    body = stats(client, platform, hook)
    assert (body["delivered"], body["failed"], body["success_rate"]) == (0, 0, None)
    assert (body["p50_ms"], body["health"]) == (None, "idle")


def test_the_window_is_24_hours_or_7_days(
    client: TestClient,
    platform: PlatformHandle,
    receiver: Receiver,
    ctx: Context,
    clock: FakeClock,
) -> None:
    hook = hook_at(client, platform, receiver.url())
    publish(client, platform, 2)
    deliver_all(ctx)
    clock.advance(days=2)
    assert stats(client, platform, hook)["delivered"] == 0
    week = stats(client, platform, hook, "7d")
    assert (week["delivered"], week["success_rate"], week["health"]) == (2, 1.0, "healthy")
    clock.advance(days=6)
    assert stats(client, platform, hook, "7d")["delivered"] == 0


def test_an_unknown_window_is_refused_by_name(
    client: TestClient, platform: PlatformHandle, receiver: Receiver
) -> None:
    hook = hook_at(client, platform, receiver.url())
    for window in ("30d", "", "24h\x00"):
        r = client.get(
            f"/v1/webhooks/{hook}/stats", params={"window": window}, headers=platform.headers
        )
        assert r.status_code == 422, (window, r.text)
        problem = r.json()
        assert problem["code"] == "validation_error"
        assert problem["errors"][0]["field"] == "window"
        assert problem["errors"][0]["code"] == "invalid_choice"


def test_another_platforms_webhook_has_no_stats(
    client: TestClient, platform: PlatformHandle, make_platform: Any, receiver: Receiver
) -> None:
    hook = hook_at(client, platform, receiver.url())
    other = make_platform()
    r = client.get(f"/v1/webhooks/{hook}/stats", headers=other.headers)
    assert r.status_code == 404
    assert r.json()["code"] == "webhook_not_found"


def test_attempts_carry_answer_headers_and_test_sends_say_so(
    client: TestClient, platform: PlatformHandle, receiver: Receiver, ctx: Context
) -> None:
    hook = hook_at(client, platform, receiver.url())
    receiver.policy = lambda _r: Answer(
        status=200, headers=(("X-Request-Id", "req-7"), ("Set-Cookie", "sid=secret"))
    )
    publish(client, platform, 1)
    deliver_all(ctx)
    r = client.post(f"/v1/webhooks/{hook}/test", json={"topic": TOPIC}, headers=platform.headers)
    test_id = r.json()["delivery_id"]
    listed = client.get(f"/v1/webhooks/{hook}/deliveries", headers=platform.headers).json()
    marks = {d["id"]: d["is_test"] for d in listed["data"]}
    assert marks[test_id] is True and list(marks.values()).count(False) == 1
    real = next(d for d, is_test in marks.items() if not is_test)
    detail = client.get(f"/v1/deliveries/{real}", headers=platform.headers).json()
    headers = detail["attempt_log"][0]["response_headers"]
    assert ["X-Request-ID", "req-7"] in headers and ["Set-Cookie", "[removed]"] in headers


def test_signing_secrets_say_which_sign_and_until_when(
    client: TestClient, platform: PlatformHandle, make_platform: Any, clock: FakeClock
) -> None:
    hook = hook_at(client, platform, "https://crm.example.com/hooks/maac")
    path = f"/v1/webhooks/{hook}/secrets"
    (only,) = client.get(path, headers=platform.headers).json()["data"]
    assert only["expires_at"] is None and "secret" not in only
    r = client.post(
        f"/v1/webhooks/{hook}/secret/rotate",
        json={"expire_old_after_seconds": 3600},
        headers=platform.headers,
    )
    assert r.status_code == 200, r.text
    current, old = client.get(path, headers=platform.headers).json()["data"]
    assert current["expires_at"] is None
    assert old["expires_at"] == (clock.now + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    clock.advance(hours=2)
    assert len(client.get(path, headers=platform.headers).json()["data"]) == 1
    assert client.get(path, headers=make_platform().headers).status_code == 404
