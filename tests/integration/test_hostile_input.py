"""Generated hostile input for every text field of the management and ingest APIs.

Whatever arrives (NUL, C0/C1 controls, bidi overrides, lone surrogates, 70 KB strings,
NaN, 1e400, 3,000-deep arrays), the answer is never a 5xx and nothing is stored that
the other backend could not store. Bounded: a few dozen examples per test and backend.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hookline.catalog import TOPICS
from hookline.services import users
from hookline.services.context import Context
from hookline.store.tables import events
from tests.integration.conftest import OP, PRODUCER, PlatformHandle
from tests.support.hostile import as_json, document, hostile_text, json_values, unportable_text

TOPIC = "receipt.receipt_validated"
BOUNDED = settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JSON = {"Content-Type": "application/json"}

valid_or_hostile = st.one_of(st.sampled_from(["Coffee", "Asia/Taipei"]), hostile_text)


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Users are created by the hundred here; argon2 at its real cost would dominate."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


def quoted(value: str) -> str:
    """A path or query part as a hostile client spells it (surrogates included); the
    first 1,000 characters, as the client refuses URLs over 64 KiB itself."""
    return urllib.parse.quote_from_bytes(value[:1000].encode("utf-8", "surrogatepass"), safe="")


def no_server_error(r: httpx.Response) -> httpx.Response:
    assert r.status_code < 500, (r.request.method, r.request.url, r.text[:500])
    return r


def post(client: TestClient, path: str, raw: bytes, headers: dict[str, Any]) -> httpx.Response:
    return no_server_error(client.post(path, content=raw, headers={**headers, **JSON}))


def hook_of(client: TestClient, platform: PlatformHandle) -> str:
    """A webhook to aim at: loopback's discard port, so a test send never leaves the host."""
    body = {"name": "fuzz", "url": "http://127.0.0.1:9/hook", "topics": [TOPIC]}
    r = client.post("/v1/webhooks", json=body, headers=platform.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@BOUNDED
@given(name=valid_or_hostile, timezone=valid_or_hostile, email=hostile_text, secret=hostile_text)
def test_operator_fields(
    client: TestClient, ctx: Context, platform: PlatformHandle, **fields: str
) -> None:
    name, timezone = as_json(fields["name"]), as_json(fields["timezone"])
    post(client, "/v1/admin/platforms", document({"name": name, "timezone": timezone}), OP)
    path = f"/v1/admin/platforms/{platform.id}"
    no_server_error(
        client.patch(
            path, content=document({"name": name, "timezone": timezone}), headers={**OP, **JSON}
        )
    )
    user = document({"email": as_json(fields["email"]), "password": as_json(fields["secret"])})
    post(client, f"{path}/users", user, OP)
    until = document({"valid_until": as_json(fields["timezone"])})
    no_server_error(client.put(f"{path}/zones/1", content=until, headers={**OP, **JSON}))
    no_server_error(client.get(f"/v1/admin/platforms/{quoted(fields['name'])}", headers=OP))
    assert unportable_text(ctx.db) == []


@BOUNDED
@given(
    name=valid_or_hostile,
    url=st.one_of(st.just("https://crm.example.com/h"), hostile_text),
    topic=st.one_of(st.just(TOPIC), hostile_text),
    key=hostile_text,
    query=hostile_text,
)
def test_platform_fields(
    client: TestClient, ctx: Context, make_platform: Any, **fields: str
) -> None:
    platform = make_platform(webhook_limit=1000)  # one webhook per example
    body = document(
        {
            "name": as_json(fields["name"]),
            "url": as_json(fields["url"]),
            "topics": f"[{as_json(fields['topic'])}]",
        }
    )
    key = fields["key"].encode("utf-8", "surrogatepass")  # raw bytes, as on the wire
    post(client, "/v1/webhooks", body, {**platform.headers, "Idempotency-Key": key})
    hook = hook_of(client, platform)
    no_server_error(
        client.patch(f"/v1/webhooks/{hook}", content=body, headers={**platform.headers, **JSON})
    )
    post(
        client,
        f"/v1/webhooks/{hook}/test",
        document({"topic": as_json(fields["query"])}),
        platform.headers,
    )
    q = quoted(fields["query"])
    for param in ("state", "topic", "cursor", "since", "until", "limit"):
        no_server_error(
            client.get(f"/v1/webhooks/{hook}/deliveries?{param}={q}", headers=platform.headers)
        )
    recover = document({"since": as_json(fields["query"]), "until": as_json(fields["name"])})
    post(client, f"/v1/webhooks/{hook}/recover", recover, platform.headers)
    for collection in ("webhooks", "deliveries", "events"):
        no_server_error(client.get(f"/v1/{collection}/{q}", headers=platform.headers))
    assert unportable_text(ctx.db) == []


def stored_bodies_are_strict_json(ctx: Context) -> None:
    """Every rendered body is ASCII JSON that a strict parser (no NaN, no Infinity) reads."""

    def refuse(constant: str) -> Any:
        raise AssertionError(f"stored body holds {constant}")

    with ctx.db.engine.connect() as conn:
        for (body,) in conn.execute(select(events.c.body)):
            assert bytes(body).isascii()
            json.loads(body, parse_constant=refuse)


@BOUNDED
@given(
    platform_id=st.one_of(st.just("mine"), json_values),
    topic=st.one_of(st.just(as_json(TOPIC)), json_values),
    producer_id=st.one_of(st.just("null"), json_values),
    occurred_at=st.one_of(st.just("null"), json_values),
    value=json_values,
    key=hostile_text,
)
def test_ingest_fields(
    client: TestClient, ctx: Context, platform: PlatformHandle, **fields: str
) -> None:
    sample = json.dumps(TOPICS[TOPIC].sample)
    data = sample[:-1] + f", {as_json(fields['key'])}: {fields['value']}}}"
    hostile = {
        "platform_id": as_json(platform.id)
        if fields["platform_id"] == "mine"
        else fields["platform_id"],
        "topic": fields["topic"],
        "data": data,
        "id": fields["producer_id"],
        "occurred_at": fields["occurred_at"],
    }
    post(client, "/internal/v1/events", document(hostile), PRODUCER)
    good = document({"platform_id": as_json(platform.id), "topic": as_json(TOPIC), "data": sample})
    batch = b'{"events": [' + document(hostile) + b", " + good + b"]}"
    r = post(client, "/internal/v1/events/batch", batch, PRODUCER)
    if r.status_code == 202:  # the batch parsed: the good item is never refused for the other
        assert r.json()["results"][1].get("event_id"), r.text
    stored_bodies_are_strict_json(ctx)
    assert unportable_text(ctx.db) == []
