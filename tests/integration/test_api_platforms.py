"""Operator routes, the platform's own view, topics and health, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hookline.catalog import TOPICS
from hookline.services.context import Context
from hookline.store.tables import api_tokens, audit_log, platforms
from tests.integration.conftest import OP, PlatformHandle
from tests.integration.test_api_webhooks import assert_problem


def test_create_platform_with_defaults(client: TestClient, ctx: Context) -> None:
    r = client.post("/v1/admin/platforms", json={"name": "Demo Coffee"}, headers=OP)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"].startswith("pf_")
    assert (body["name"], body["timezone"], body["webhook_limit"]) == (
        "Demo Coffee",
        "Asia/Taipei",
        3,
    )
    assert body["api_token"].startswith("hlp_")
    with ctx.db.read() as conn:
        hashes = [row.token_hash for row in conn.execute(select(api_tokens)).all()]
    assert body["api_token"] not in hashes and len(hashes) == 1
    me = client.get("/v1/platform", headers={"Authorization": f"Bearer {body['api_token']}"})
    assert me.status_code == 200
    assert me.json()["zones"] == [
        {"zone": 1, "valid_until": None, "valid": False},
        {"zone": 2, "valid_until": None, "valid": False},
        {"zone": 3, "valid_until": None, "valid": False},
    ]
    assert me.json()["working_webhooks"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "x", "webhook_limit": -1}, "webhook_limit"),
        ({"name": "x", "webhook_limit": 1001}, "webhook_limit"),
        ({"name": "x", "webhook_limit": "three"}, "webhook_limit"),
    ],
)
def test_bad_platform_input(
    client: TestClient, ctx: Context, body: dict[str, Any], field: str
) -> None:
    r = client.post("/v1/admin/platforms", json=body, headers=OP)
    problem = assert_problem(r, 422, "validation_error")
    assert problem["errors"][0]["field"] == field
    with ctx.db.read() as conn:
        assert conn.execute(select(platforms)).all() == []


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer hlp_x"}]
)
def test_operator_routes_need_the_operator_token(
    client: TestClient, headers: dict[str, str]
) -> None:
    assert_problem(
        client.post("/v1/admin/platforms", json={"name": "x"}, headers=headers), 401, "unauthorized"
    )


def test_a_platform_token_is_not_an_operator(client: TestClient, platform: PlatformHandle) -> None:
    r = client.post("/v1/admin/platforms", json={"name": "x"}, headers=platform.headers)
    assert_problem(r, 401, "unauthorized")


def test_zones_and_validity(client: TestClient, platform: PlatformHandle, clock: Any) -> None:
    until = "2027-01-31T23:59:59+08:00"
    r = client.put(
        f"/v1/admin/platforms/{platform.id}/zones/2", json={"valid_until": until}, headers=OP
    )
    assert r.status_code == 200
    zone2 = r.json()["zones"][1]
    assert zone2["zone"] == 2 and zone2["valid"] is True
    assert zone2["valid_until"].startswith("2027-01-31T15:59:59")
    r = client.put(
        f"/v1/admin/platforms/{platform.id}/zones/1",
        json={"valid_until": "2026-01-01T00:00:00Z"},
        headers=OP,
    )
    zones = client.get("/v1/platform", headers=platform.headers).json()["zones"]
    assert [z["valid"] for z in zones] == [False, True, False]


@pytest.mark.parametrize(
    ("zone", "body", "field"),
    [
        (4, {"valid_until": "2027-01-01T00:00:00Z"}, "zone"),
        (1, {"valid_until": "2027-01-01T00:00:00"}, "valid_until"),
        (1, {"valid_until": "tomorrow"}, "valid_until"),
        (1, {}, "valid_until"),
    ],
)
def test_bad_zone_input(
    client: TestClient, platform: PlatformHandle, zone: int, body: dict[str, Any], field: str
) -> None:
    before = client.get("/v1/platform", headers=platform.headers).json()
    r = client.put(f"/v1/admin/platforms/{platform.id}/zones/{zone}", json=body, headers=OP)
    assert assert_problem(r, 422, "validation_error")["errors"][0]["field"] == field
    assert client.get("/v1/platform", headers=platform.headers).json() == before


def test_unknown_platform_is_404(client: TestClient) -> None:
    for method, path, json in [
        ("GET", "/v1/admin/platforms/pf_nope", None),
        ("PATCH", "/v1/admin/platforms/pf_nope", {"name": "x"}),
        ("PUT", "/v1/admin/platforms/pf_nope/zones/1", {"valid_until": "2027-01-01T00:00:00Z"}),
        ("POST", "/v1/admin/platforms/pf_nope/tokens", None),
    ]:
        assert_problem(
            client.request(method, path, json=json, headers=OP), 404, "platform_not_found"
        )


def test_unknown_token_revoke_is_404(client: TestClient, platform: PlatformHandle) -> None:
    r = client.delete(f"/v1/admin/platforms/{platform.id}/tokens/tok_nope", headers=OP)
    assert_problem(r, 404, "token_not_found")


def test_patch_platform(client: TestClient, platform: PlatformHandle) -> None:
    r = client.patch(
        f"/v1/admin/platforms/{platform.id}",
        json={"name": "Renamed", "timezone": "Asia/Tokyo"},
        headers=OP,
    )
    assert (r.json()["name"], r.json()["timezone"], r.json()["webhook_limit"]) == (
        "Renamed",
        "Asia/Tokyo",
        3,
    )


def test_topics_say_which_may_be_used(client: TestClient, make_platform: Any) -> None:
    p = make_platform(zones=(1,))
    topics = client.get("/v1/topics", headers=p.headers).json()
    assert [t["name"] for t in topics] == list(TOPICS)
    by_name = {t["name"]: t for t in topics}
    assert by_name["receipt.receipt_validated"]["available"] is True
    assert by_name["receipt.receipt_validated"]["unavailable_reason"] is None
    first_open = by_name["message.first_open"]
    assert first_open["available"] is False and "zone 2" in first_open["unavailable_reason"]
    assert first_open["zone"] == 2
    assert set(first_open["description"]) >= {"en", "zh-TW"}
    assert first_open["schema"]["type"] == "object"
    assert first_open["sample"]["line_uid"].startswith("U")


def test_health(client: TestClient, ctx: Context) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == ctx.db.dialect


def test_readyz_fails_when_the_database_is_gone(ctx: Context) -> None:
    from pydantic import SecretStr

    from hookline.app import create_app
    from hookline.config import Settings
    from hookline.services.context import Context as Ctx
    from hookline.store import create_database

    broken = Ctx(
        db=create_database("postgresql+psycopg://nobody@127.0.0.1:1/none"),
        box=ctx.box,
    )
    app = create_app(Settings(operator_token=SecretStr("x")), broken)
    with TestClient(app) as c:
        r = c.get("/readyz")
    assert r.status_code == 503 and r.json()["database"] == "unreachable"


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing"), 404, "not_found")
    assert_problem(client.put("/healthz"), 405, "method_not_allowed")


def test_openapi_lists_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in [
        "/v1/admin/platforms",
        "/v1/admin/platforms/{platform_id}/zones/{zone}",
        "/v1/admin/platforms/{platform_id}/tokens/{token_id}",
        "/v1/platform",
        "/v1/topics",
        "/v1/webhooks",
        "/v1/webhooks/{webhook_id}",
        "/v1/webhooks/{webhook_id}/stop",
        "/v1/webhooks/{webhook_id}/resume",
        "/v1/webhooks/{webhook_id}/secret",
        "/v1/webhooks/{webhook_id}/secret/rotate",
        "/healthz",
        "/readyz",
    ]:
        assert path in paths


def ctx_tokens(ctx: Context, platform_id: str) -> list[str]:
    with ctx.db.read() as conn:
        return list(
            conn.execute(
                select(api_tokens.c.id).where(api_tokens.c.platform_id == platform_id)
            ).scalars()
        )


def test_operator_and_platform_changes_are_audited(
    client: TestClient, ctx: Context, make_platform: Any
) -> None:
    p = make_platform(zones=(1,))
    r = client.patch(f"/v1/admin/platforms/{p.id}", json={"webhook_limit": 5}, headers=OP)
    assert r.status_code == 200
    created = client.post(f"/v1/admin/platforms/{p.id}/tokens", headers=OP).json()
    client.delete(f"/v1/admin/platforms/{p.id}/tokens/{created['id']}", headers=OP)
    client.patch("/v1/platform", json={"retry_policy": "maac"}, headers=p.headers)
    with ctx.db.read() as conn:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.platform_id == p.id).order_by(audit_log.c.id)
        ).all()
    actions = [(r.action, r.actor_kind) for r in rows]
    assert actions == [
        ("platform.create", "operator"),
        ("zone.set:1", "operator"),
        ("platform.update:webhook_limit", "operator"),
        ("token.create", "operator"),
        ("token.revoke", "operator"),
        ("platform.update:retry_policy", "platform_token"),
    ]
    first_token = next(t for t in ctx_tokens(ctx, p.id) if t != created["id"])
    assert rows[-1].actor_id == first_token  # the platform's own token made the last change
