"""Delivery controls through the API: headers, timeout, retry policy, filter (issue 16).

Saved values are checked with clear errors, header values are sealed at rest and never
answered again, a change keeps what it does not name, and one platform cannot touch
another's. Both backends.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hookline.domain.controls import MASK
from hookline.services.context import Context
from hookline.store.tables import webhooks
from tests.integration.conftest import PlatformHandle, webhook_body

PNP = "pnp.status_updated"


def create(client: TestClient, p: PlatformHandle, **overrides: Any) -> Any:
    return client.post("/v1/webhooks", json=webhook_body(**overrides), headers=p.headers)


def stored(ctx: Context, webhook_id: str) -> Any:
    with ctx.db.read() as conn:
        return conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).one()


def count(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return len(conn.execute(select(webhooks.c.id)).all())


def errors_of(r: Any) -> list[tuple[str, str]]:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "validation_error"
    return [(e["field"], e["code"]) for e in body["errors"]]


def test_controls_are_saved_and_header_values_never_answered(
    client: TestClient, platform: PlatformHandle, ctx: Context
) -> None:
    r = create(
        client,
        platform,
        topics=[PNP],
        headers={"X-Api-Key": "k_live_s3cret", "Authorization": "Basic dXNlcjpwdw=="},
        timeout_seconds=7,
        retry_policy="maac",
        filter={"data.status": ["pnp_delivered", "sms_failed"], "data.customized_id": "a"},
    )
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["headers"] == {"X-Api-Key": MASK, "Authorization": MASK}
    assert hook["timeout_seconds"] == 7 and hook["retry_policy"] == "maac"
    assert hook["filter"] == {
        "data.customized_id": ["a"],
        "data.status": ["pnp_delivered", "sms_failed"],
    }
    assert hook["filtered_events"] == 0 and hook["paused_until"] is None
    got = client.get(f"/v1/webhooks/{hook['id']}", headers=platform.headers)
    assert got.json() == hook
    listed = client.get("/v1/webhooks", headers=platform.headers).text
    assert "k_live_s3cret" not in listed and "k_live_s3cret" not in r.text
    row = stored(ctx, hook["id"])
    assert "k_live_s3cret" not in row.headers_sealed  # sealed with the secret box
    assert json.loads(ctx.box.decrypt(row.headers_sealed)) == {
        "X-Api-Key": "k_live_s3cret",
        "Authorization": "Basic dXNlcjpwdw==",
    }


def test_defaults_are_the_platforms(client: TestClient, platform: PlatformHandle) -> None:
    r = create(client, platform)
    hook = r.json()
    assert hook["headers"] == {} and hook["filter"] is None
    assert hook["timeout_seconds"] is None and hook["retry_policy"] is None


@pytest.mark.parametrize(
    "name",
    [
        "CrescLab-Signature",
        "cresclab-test",
        "webhook-id",
        "Webhook-Signature",
        "Content-Type",
        "content-length",
        "Host",
        "User-Agent",
        "Connection",
        "Transfer-Encoding",
        "Keep-Alive",
        "TE",
        "Upgrade",
        "Proxy-Authorization",
    ],
)
def test_reserved_header_names_are_refused(
    client: TestClient, platform: PlatformHandle, ctx: Context, name: str
) -> None:
    r = create(client, platform, headers={name: "x"})
    assert errors_of(r) == [(f"headers.{name}", "reserved_header")]
    assert count(ctx) == 0


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"X Bad": "x"}, "invalid_header_name"),
        ({"X-Ä": "x"}, "invalid_header_name"),
        ({"": "x"}, "invalid_header_name"),
        ({"X-A": "one\r\nX-Injected: 1"}, "invalid_header_value"),
        ({"X-A": "nul\x00"}, "invalid_header_value"),
        ({"X-A": "\u202e"}, "invalid_header_value"),
        ({"X-A": "caf\u00e9"}, "invalid_header_value"),
        ({"X-A": " padded"}, "invalid_header_value"),
        ({"X-A": ""}, "invalid_header_value"),
        ({"X-A": "x" * 1025}, "invalid_header_value"),
        ({"X-A": "1", "x-a": "2"}, "duplicate_header"),
        ({f"X-H{i}": "v" for i in range(11)}, "too_many"),
    ],
)
def test_bad_headers_are_refused_naming_the_field(
    client: TestClient, platform: PlatformHandle, ctx: Context, headers: dict[str, str], code: str
) -> None:
    r = create(client, platform, headers=headers)
    assert [c for _, c in errors_of(r)] == [code]
    assert all(f.startswith("headers") for f, _ in errors_of(r))
    assert count(ctx) == 0


def test_a_lone_surrogate_in_a_header_is_refused(
    client: TestClient, platform: PlatformHandle, ctx: Context
) -> None:
    raw = json.dumps(webhook_body(headers={"X-A": "\ud800"}))
    r = client.post(
        "/v1/webhooks",
        content=raw.encode("ascii"),
        headers={**platform.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and count(ctx) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timeout_seconds", 0),
        ("timeout_seconds", 31),
        ("timeout_seconds", "5"),
        ("timeout_seconds", True),
        ("timeout_seconds", 2.5),
        ("retry_policy", "fast"),
        ("retry_policy", 1),
    ],
)
def test_bad_timeouts_and_policies_are_refused(
    client: TestClient, platform: PlatformHandle, ctx: Context, field: str, value: Any
) -> None:
    r = create(client, platform, **{field: value})
    assert r.status_code == 422, r.text
    assert field in r.text
    assert count(ctx) == 0


@pytest.mark.parametrize(
    ("flt", "code"),
    [
        ({"data.nope": "x"}, "unknown_filter_field"),
        ({"status": "pnp_delivered"}, "invalid_filter_field"),
        ({"data.": "x"}, "invalid_filter_field"),
        ({"data.status\x00": "x"}, "invalid_filter_field"),
        ({"data.status": "delivered"}, "filter_value_mismatch"),
        ({"data.status": 3}, "filter_value_mismatch"),
        ({"data.status": []}, "invalid_filter_value"),
        ({"data.status": [{"a": 1}]}, "invalid_filter_value"),
        ({"data.status": "x" * 300}, "invalid_filter_value"),
        ({"data.status": "\x00"}, "invalid_filter_value"),
        ({f"data.f{i}": "x" for i in range(11)}, "too_many"),
    ],
)
def test_bad_filters_are_refused_against_the_topic_schema(
    client: TestClient, platform: PlatformHandle, ctx: Context, flt: dict[str, Any], code: str
) -> None:
    r = create(client, platform, topics=[PNP], filter=flt)
    assert [c for _, c in errors_of(r)] == [code]
    assert count(ctx) == 0


def test_a_filter_must_fit_every_subscribed_topic(
    client: TestClient, platform: PlatformHandle
) -> None:
    r = create(
        client, platform, topics=[PNP, "pnp.profile_updated"], filter={"data.status": "pnp_failed"}
    )
    ((field, code),) = errors_of(r)
    assert field == "filter.data.status" and code == "unknown_filter_field"
    assert "pnp.profile_updated" in r.json()["errors"][0]["message"]
    ok = create(
        client,
        platform,
        topics=[PNP, "pnp.profile_updated"],
        filter={"data.pnp_setting_id": [7, 8.0]},
    )
    assert ok.status_code == 201, ok.text


def test_a_change_keeps_what_it_does_not_name_and_null_resets(
    client: TestClient, platform: PlatformHandle, ctx: Context
) -> None:
    hook = create(
        client, platform, topics=[PNP], headers={"X-Api-Key": "old"}, timeout_seconds=5,
        filter={"data.status": "pnp_delivered"},
    ).json()  # fmt: skip
    url = f"/v1/webhooks/{hook['id']}"
    r = client.patch(url, json={"name": "renamed"}, headers=platform.headers)
    assert r.json()["timeout_seconds"] == 5 and r.json()["headers"] == {"X-Api-Key": MASK}
    # the mask sent back keeps the saved value; a new header is added beside it
    r = client.patch(
        url, json={"headers": {"X-Api-Key": MASK, "X-Tenant": "t1"}}, headers=platform.headers
    )
    assert r.status_code == 200, r.text
    assert json.loads(ctx.box.decrypt(stored(ctx, hook["id"]).headers_sealed)) == {
        "X-Api-Key": "old",
        "X-Tenant": "t1",
    }
    # a topic without the filtered field: refused, nothing changed
    r = client.patch(url, json={"topics": ["pnp.profile_updated"]}, headers=platform.headers)
    assert errors_of(r) == [("filter.data.status", "unknown_filter_field")]
    assert stored(ctx, hook["id"]).event_filter is not None
    reset = {"headers": None, "timeout_seconds": None, "filter": None, "retry_policy": None}
    r = client.patch(url, json=reset, headers=platform.headers)
    got = r.json()
    assert got["headers"] == {} and got["timeout_seconds"] is None and got["filter"] is None
    row = stored(ctx, hook["id"])
    assert row.headers_sealed is None and row.header_names is None


def test_another_platform_cannot_see_or_change_the_controls(
    client: TestClient, make_platform: Any, ctx: Context
) -> None:
    mine, theirs = make_platform(), make_platform()
    hook = create(client, mine, headers={"X-Api-Key": "mine"}).json()
    url = f"/v1/webhooks/{hook['id']}"
    r = client.patch(url, json={"headers": {"X-Api-Key": "stolen"}}, headers=theirs.headers)
    assert r.status_code == 404
    assert client.get(url, headers=theirs.headers).status_code == 404
    assert json.loads(ctx.box.decrypt(stored(ctx, hook["id"]).headers_sealed)) == {
        "X-Api-Key": "mine"
    }


def test_idempotent_create_compares_the_controls(
    client: TestClient, platform: PlatformHandle
) -> None:
    key = {**platform.headers, "Idempotency-Key": "k1"}
    first = client.post("/v1/webhooks", json=webhook_body(timeout_seconds=3), headers=key)
    again = client.post("/v1/webhooks", json=webhook_body(timeout_seconds=3), headers=key)
    assert first.status_code == 201 and again.json()["id"] == first.json()["id"]
    other = client.post("/v1/webhooks", json=webhook_body(timeout_seconds=4), headers=key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    "controls",
    [
        '"headers": {"X-\\ud800": "v"}',
        '"headers": {"X-A": "\\udfff"}',
        '"headers": {"X-A\\u0000": "v"}',
        '"headers": ["X-A"]',
        '"filter": {"data.\\ud800": "x"}',
        '"filter": {"data.status": "\\ud800"}',
        '"filter": {"data.pnp_setting_id": NaN}',
        '"filter": {"data.pnp_setting_id": 1e400}',
        '"filter": {"data.pnp_setting_id": [[[[1]]]]}',
        '"filter": {"data.status": ' + "[" * 3000 + "]" * 3000 + "}",
        '"filter": "data.status"',
        '"timeout_seconds": 1e400',
        '"timeout_seconds": NaN',
        '"retry_policy": "\\u0000"',
    ],
)
def test_hostile_controls_get_a_422_and_change_nothing(
    client: TestClient, platform: PlatformHandle, ctx: Context, controls: str
) -> None:
    plain = json.dumps(webhook_body(topics=[PNP]))
    raw = plain[:-1] + ", " + controls + "}"
    r = client.post(
        "/v1/webhooks",
        content=raw.encode("ascii"),
        headers={**platform.headers, "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422), r.text
    assert count(ctx) == 0


@pytest.mark.parametrize(
    "controls",
    [
        {"rate_limit_per_second": 0},
        {"rate_limit_per_second": 1001},
        {"rate_limit_per_second": "5"},
        {"rate_limit_per_second": True},
        {"rate_limit_per_second": 2.5},
        {"ordering": "lifo"},
        {"ordering": 1},
    ],
)
def test_bad_rate_limits_and_unknown_orderings_are_refused_not_stored(
    client: TestClient, platform: PlatformHandle, ctx: Context, controls: dict[str, Any]
) -> None:
    r = create(client, platform, **controls)
    (field,) = controls
    assert errors_of(r)[0][0] == field
    assert count(ctx) == 0
    ok = create(client, platform, ordering="fifo", rate_limit_per_second=None)
    assert ok.status_code == 201 and ok.json()["ordering"] == "fifo"


def test_a_rate_limit_is_saved_shown_and_lifted(
    client: TestClient, platform: PlatformHandle
) -> None:
    r = create(client, platform, rate_limit_per_second=100)
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["rate_limit_per_second"] == 100
    url = f"/v1/webhooks/{hook['id']}"
    changed = client.patch(url, json={"rate_limit_per_second": 1000}, headers=platform.headers)
    assert changed.json()["rate_limit_per_second"] == 1000
    lifted = client.patch(url, json={"rate_limit_per_second": None}, headers=platform.headers)
    assert lifted.json()["rate_limit_per_second"] is None
    got = client.get(url, headers=platform.headers).json()
    assert got["rate_limit_per_second"] is None
