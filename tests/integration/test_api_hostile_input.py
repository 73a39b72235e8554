"""Hostile input gets a 4xx naming the field, never a 500, on both backends (issue 11, §1).

Bodies are sent as raw bytes: ``json.dumps`` escapes a lone surrogate (``"\\ud800"``),
which is what an attacker's client sends, while httpx's own encoder would refuse it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hookline.catalog import TOPICS
from tests.conftest import FakeClock
from tests.integration.conftest import OP, PRODUCER, PlatformHandle, webhook_body
from tests.integration.test_api_deliveries import deliver_all, hook_at
from tests.support.receiver import Receiver

TOPIC = "receipt.receipt_validated"
SURROGATE = "\ud800"
UNSAFE = ["a\x00b", "a\x1bb", "a\x7fb", "a\x85b", "a\u202eb", SURROGATE]


def send(
    client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode("ascii")
    return client.request(
        method, path, content=raw, headers={**headers, "Content-Type": "application/json"}
    )


def refused(r: httpx.Response, field: str, code: str | None = None) -> None:
    assert r.status_code == 422, r.text
    fields = {e["field"]: e["code"] for e in r.json()["errors"]}
    assert field in fields, fields
    assert code is None or fields[field] == code, fields


def event(platform: PlatformHandle, **overrides: Any) -> dict[str, Any]:
    return {"platform_id": platform.id, "topic": TOPIC, "data": TOPICS[TOPIC].sample, **overrides}


@pytest.mark.parametrize("bad", UNSAFE)
def test_unsafe_text_in_management_fields_is_422_naming_the_field(
    client: TestClient, platform: PlatformHandle, bad: str
) -> None:
    refused(send(client, "POST", "/v1/admin/platforms", {"name": bad}, OP), "name")
    refused(
        send(client, "POST", "/v1/admin/platforms", {"name": "x", "timezone": bad}, OP), "timezone"
    )
    user = {"email": f"a{bad}@example.com", "password": "long enough password"}
    refused(send(client, "POST", f"/v1/admin/platforms/{platform.id}/users", user, OP), "email")
    for field, value in [("name", bad), ("url", f"https://x.example/{bad}"), ("topics", [bad])]:
        body = webhook_body(**{field: value})
        where = "topics[0]" if field == "topics" else field
        refused(send(client, "POST", "/v1/webhooks", body, platform.headers), where)
    hooks = client.get("/v1/webhooks", headers=platform.headers).json()["data"]
    assert hooks == []


def test_a_password_may_hold_controls_but_not_a_lone_surrogate(
    client: TestClient, platform: PlatformHandle
) -> None:
    path = f"/v1/admin/platforms/{platform.id}/users"
    bad = {"email": "a@example.com", "password": f"long enough {SURROGATE}"}
    refused(send(client, "POST", path, bad, OP), "password", "lone_surrogate")
    odd = {"email": "a@example.com", "password": "long enough \x00\x1b"}
    assert send(client, "POST", path, odd, OP).status_code == 201


@pytest.mark.parametrize("bad", UNSAFE)
def test_unsafe_ids_and_topics_on_ingest_are_422(
    client: TestClient, platform: PlatformHandle, bad: str
) -> None:
    for field, key in [("id", "id"), ("topic", "topic"), ("platform_id", "platform_id")]:
        r = send(client, "POST", "/internal/v1/events", event(platform, **{key: bad}), PRODUCER)
        refused(r, field)


def test_one_unsafe_item_in_a_batch_refuses_only_that_item(
    client: TestClient, platform: PlatformHandle
) -> None:
    events = [
        event(platform, id=SURROGATE),
        event(platform, id="ok-1"),
        event(platform, id="a\x00"),
    ]
    r = send(client, "POST", "/internal/v1/events/batch", {"events": events}, PRODUCER)
    assert r.status_code == 202, r.text
    assert (r.json()["accepted"], r.json()["rejected"]) == (1, 2)
    first, good, last = r.json()["results"]
    assert first["error"]["errors"][0]["field"] == "id"
    assert last["error"]["errors"][0]["code"] == "control_character"
    assert good["event_id"].startswith("evt_")


def test_data_strings_hold_any_json_string_and_are_delivered_byte_exact(
    client: TestClient, platform: PlatformHandle, receiver: Receiver, ctx: Any
) -> None:
    hook_at(client, platform, receiver.url())
    odd = "nul\x00 esc\x1b rtl\u202e del\x7f c1\x85 end"
    data = {**TOPICS[TOPIC].sample, "campaign_name": odd, "channel": "\x00"}
    r = send(client, "POST", "/internal/v1/events", event(platform, data=data), PRODUCER)
    assert r.status_code == 202, r.text
    stored = client.get(f"/v1/events/{r.json()['event_id']}", headers=platform.headers).json()
    deliver_all(ctx)
    (request,) = receiver.received()
    assert request.body == stored["body"].encode("ascii")
    assert b"nul\\u0000 esc\\u001b rtl\\u202e" in request.body
    assert json.loads(request.body)["data"]["campaign_name"] == odd


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400"])
def test_numbers_json_cannot_carry_are_422(
    client: TestClient, platform: PlatformHandle, number: bytes
) -> None:
    sample = json.dumps(event(platform)).encode("ascii")
    raw = sample.replace(b'"unit_price": 25.0', b'"unit_price": ' + number)
    assert raw != sample
    r = send(client, "POST", "/internal/v1/events", raw, PRODUCER)
    refused(r, "data.items[0].unit_price", "not_finite")


def test_data_nested_too_deep_is_422_not_a_recursion(
    client: TestClient, platform: PlatformHandle
) -> None:
    deep: Any = "leaf"
    for _ in range(500):
        deep = [deep]
    data = {**TOPICS[TOPIC].sample, "extra": deep}
    r = send(client, "POST", "/internal/v1/events", event(platform, data=data), PRODUCER)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["code"] == "too_deep"


@pytest.mark.parametrize(
    "when",
    [
        "9999-12-31T23:59:59-23:59",
        "9999-06-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_occurred_at_out_of_range_is_422(
    client: TestClient, platform: PlatformHandle, when: str
) -> None:
    r = send(client, "POST", "/internal/v1/events", event(platform, occurred_at=when), PRODUCER)
    refused(r, "occurred_at", "out_of_range")


def test_occurred_at_at_the_edges_of_the_range_is_accepted(
    client: TestClient, platform: PlatformHandle
) -> None:
    for when in ["1970-01-01T00:00:00Z", "9998-12-31T23:59:59Z"]:
        r = send(client, "POST", "/internal/v1/events", event(platform, occurred_at=when), PRODUCER)
        assert r.status_code == 202, r.text


def test_zone_valid_until_out_of_range_is_422(client: TestClient, platform: PlatformHandle) -> None:
    body = {"valid_until": "9999-12-31T23:59:59-23:59"}
    r = send(client, "PUT", f"/v1/admin/platforms/{platform.id}/zones/1", body, OP)
    refused(r, "valid_until", "out_of_range")


@pytest.mark.parametrize("field", ["since", "until"])
def test_a_naive_time_on_the_log_and_recover_is_422_naming_the_field(
    client: TestClient, platform: PlatformHandle, field: str
) -> None:
    hook = hook_at(client, platform, "https://crm.example.com/hook")
    path = f"/v1/webhooks/{hook}/deliveries"
    r = client.get(path, params={field: "2026-11-29T00:00:00"}, headers=platform.headers)
    refused(r, field, "naive_datetime")
    body = {"since": "2026-11-01T00:00:00+08:00", field: "2026-11-29T00:00:00"}
    refused(send(client, "POST", f"/v1/webhooks/{hook}/recover", body, platform.headers), field)


def test_a_date_means_midnight_in_the_platforms_time_zone(
    client: TestClient, platform: PlatformHandle, clock: FakeClock
) -> None:
    # 2026-11-28T20:00Z is 04:00 on the 29th in Taipei (the platform's default zone):
    # since=2026-11-29 includes it there, but would not if the date meant UTC midnight
    clock.now = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
    hook = hook_at(client, platform, "https://crm.example.com/hook")
    assert send(client, "POST", "/internal/v1/events", event(platform), PRODUCER).status_code == 202
    path = f"/v1/webhooks/{hook}/deliveries"

    def listed(**params: str) -> int:
        r = client.get(path, params=params, headers=platform.headers)
        assert r.status_code == 200, r.text
        return len(r.json()["data"])

    assert listed(since="2026-11-29") == 1
    assert listed(until="2026-11-29") == 0
    assert listed(since="2026-11-29T00:00:00Z") == 0
    body = {"since": "2026-11-29", "until": "2026-11-30"}
    r = send(client, "POST", f"/v1/webhooks/{hook}/recover", body, platform.headers)
    assert r.status_code == 200, r.text  # nothing failed yet: a window, no error


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b'{"name": "\xff\xfe"}', "UTF-8"),
        (b"[" * 30_000 + b"]" * 30_000, "deep"),  # under every body limit
        (b'{"name": 1' + b"0" * 5000 + b"}", "digits"),
    ],
)
def test_bodies_python_cannot_parse_are_invalid_json(
    client: TestClient, platform: PlatformHandle, raw: bytes, why: str
) -> None:
    for path, headers in [("/internal/v1/events", PRODUCER), ("/v1/webhooks", platform.headers)]:
        r = send(client, "POST", path, raw, headers)
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "invalid_json", (why, r.text)
        assert "not valid JSON" in r.json()["detail"]


@pytest.mark.parametrize("bad", ["a%00b", "a%1Bb", "a%E2%80%AEb"])
def test_unsafe_ids_in_paths_are_422(
    client: TestClient, platform: PlatformHandle, bad: str
) -> None:
    named = {"webhooks": "webhook_id", "deliveries": "delivery_id", "events": "event_id"}
    for collection, field in named.items():
        refused(client.get(f"/v1/{collection}/{bad}", headers=platform.headers), field)
    refused(client.get(f"/v1/admin/platforms/{bad}", headers=OP), "platform_id")
