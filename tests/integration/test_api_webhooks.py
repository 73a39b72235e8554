"""The webhook management API, end to end over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hookline.services import webhooks as webhook_service
from hookline.services.context import Context
from hookline.store.tables import audit_log, webhook_secrets, webhooks
from tests.integration.conftest import OP, PlatformHandle, webhook_body


def create(client: TestClient, p: PlatformHandle, **overrides: Any) -> dict[str, Any]:
    r = client.post("/v1/webhooks", json=webhook_body(**overrides), headers=p.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def count_rows(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return len(conn.execute(select(webhooks.c.id)).all())


def assert_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = dict(r.json())
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"].endswith(code)
    assert body["title"] and body["detail"]
    return body


def test_create_returns_the_webhook_without_its_secret(
    client: TestClient, platform: PlatformHandle
) -> None:
    hook = create(client, platform, topics=["receipt.receipt_validated", "prize.points_added"])
    assert hook["id"].startswith("wh_")
    assert hook["platform_id"] == platform.id
    assert hook["name"] == "CRM receipts"
    assert hook["url"] == "https://crm.example.com/hooks/maac"
    assert hook["topics"] == ["receipt.receipt_validated", "prize.points_added"]
    assert hook["status"] == "working"
    assert hook["stop_reason"] is None
    assert "secret" not in hook
    got = client.get(f"/v1/webhooks/{hook['id']}", headers=platform.headers).json()
    assert got == hook


def test_duplicate_topics_are_kept_once(client: TestClient, platform: PlatformHandle) -> None:
    hook = create(client, platform, topics=["pnp.status_updated", "pnp.status_updated"])
    assert hook["topics"] == ["pnp.status_updated"]


def test_list_pages_with_a_cursor(client: TestClient, make_platform: Any) -> None:
    p = make_platform(webhook_limit=10)
    made = [create(client, p, name=f"hook {i}")["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/webhooks", params=params, headers=p.headers).json()
        seen += [w["id"] for w in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(made)
    assert len(set(seen)) == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": "eHl6"}, "cursor"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_bad_paging_parameters(
    client: TestClient, platform: PlatformHandle, params: dict[str, Any], field: str
) -> None:
    r = client.get("/v1/webhooks", params=params, headers=platform.headers)
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["field"] == field


def test_patch_changes_only_given_fields(client: TestClient, platform: PlatformHandle) -> None:
    hook = create(client, platform)
    r = client.patch(
        f"/v1/webhooks/{hook['id']}",
        json={"name": "Renamed", "topics": ["form.surveycake_submitted"]},
        headers=platform.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Renamed"
    assert r.json()["topics"] == ["form.surveycake_submitted"]
    assert r.json()["url"] == hook["url"]
    r = client.patch(
        f"/v1/webhooks/{hook['id']}",
        json={"url": "http://127.0.0.1:9000/x"},
        headers=platform.headers,
    )
    assert r.json()["url"] == "http://127.0.0.1:9000/x"


def test_stop_resume_delete(client: TestClient, platform: PlatformHandle, ctx: Context) -> None:
    hook = create(client, platform)
    url = f"/v1/webhooks/{hook['id']}"
    stopped = client.post(f"{url}/stop", headers=platform.headers).json()
    assert (stopped["status"], stopped["stop_reason"]) == ("stopped", "by_user")
    resumed = client.post(f"{url}/resume", headers=platform.headers).json()
    assert (resumed["status"], resumed["stop_reason"]) == ("working", None)
    assert client.delete(url, headers=platform.headers).status_code == 204
    assert_problem(client.get(url, headers=platform.headers), 404, "webhook_not_found")
    assert client.get("/v1/webhooks", headers=platform.headers).json()["data"] == []
    assert_problem(client.delete(url, headers=platform.headers), 404, "webhook_not_found")
    # the row stays, so its delivery history can still be read
    assert count_rows(ctx) == 1


def test_the_fourth_working_webhook_is_refused(
    client: TestClient, platform: PlatformHandle, ctx: Context
) -> None:
    hooks = [create(client, platform, name=f"h{i}") for i in range(3)]
    r = client.post("/v1/webhooks", json=webhook_body(), headers=platform.headers)
    body = assert_problem(r, 409, "webhook_limit_reached")
    assert body["limit"] == 3
    assert "3" in body["detail"]
    assert count_rows(ctx) == 3
    info = client.get("/v1/platform", headers=platform.headers).json()
    assert info["working_webhooks"] == 3
    # a stopped webhook frees its place; resuming it at the limit is refused
    client.post(f"/v1/webhooks/{hooks[0]['id']}/stop", headers=platform.headers)
    create(client, platform, name="h3")
    r = client.post(f"/v1/webhooks/{hooks[0]['id']}/resume", headers=platform.headers)
    assert_problem(r, 409, "webhook_limit_reached")
    got = client.get(f"/v1/webhooks/{hooks[0]['id']}", headers=platform.headers).json()
    assert got["status"] == "stopped"
    # a deleted webhook frees its place too
    client.delete(f"/v1/webhooks/{hooks[1]['id']}", headers=platform.headers)
    assert (
        client.post(f"/v1/webhooks/{hooks[0]['id']}/resume", headers=platform.headers).status_code
        == 200
    )


def test_operator_can_raise_the_limit(client: TestClient, platform: PlatformHandle) -> None:
    for i in range(3):
        create(client, platform, name=f"h{i}")
    r = client.patch(f"/v1/admin/platforms/{platform.id}", json={"webhook_limit": 4}, headers=OP)
    assert r.status_code == 200 and r.json()["webhook_limit"] == 4
    create(client, platform, name="h3")


def test_unpurchased_zone_is_forbidden(
    client: TestClient, make_platform: Any, ctx: Context
) -> None:
    p = make_platform(zones=(1,))
    r = client.post(
        "/v1/webhooks", json=webhook_body(topics=["message.first_open"]), headers=p.headers
    )
    body = assert_problem(r, 403, "zone_not_purchased")
    assert body["zone"] == 2
    assert "zone 2" in body["detail"]
    assert count_rows(ctx) == 0


def test_expired_zone_is_forbidden_and_blocks_resume(
    client: TestClient, make_platform: Any, clock: Any, ctx: Context
) -> None:
    p = make_platform(days=10)
    hook = create(client, p)
    client.post(f"/v1/webhooks/{hook['id']}/stop", headers=p.headers)
    clock.advance(days=10)  # valid while now < valid_until: at the date itself it has ended
    r = client.post("/v1/webhooks", json=webhook_body(), headers=p.headers)
    body = assert_problem(r, 403, "zone_expired")
    assert body["zone"] == 1
    assert body["valid_until"] in body["detail"]
    assert_problem(
        client.post(f"/v1/webhooks/{hook['id']}/resume", headers=p.headers), 403, "zone_expired"
    )
    assert_problem(
        client.patch(
            f"/v1/webhooks/{hook['id']}",
            json={"topics": ["prize.points_added"]},
            headers=p.headers,
        ),
        403,
        "zone_expired",
    )
    assert count_rows(ctx) == 1


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"url": "https://x.example.com", "topics": ["prize.points_added"]}, "name", "missing"),
        (webhook_body(name=""), "name", "name_empty"),
        (webhook_body(name="   "), "name", "name_empty"),
        (webhook_body(name="x" * 101), "name", "name_too_long"),
        (webhook_body(name=7), "name", "string_type"),
        (webhook_body(topics=[]), "topics", "topics_empty"),
        (webhook_body(topics=["receipt.nope"]), "topics[0]", "unknown_topic"),
        (webhook_body(topics=["prize.points_added", "x"]), "topics[1]", "unknown_topic"),
        (webhook_body(topics="prize.points_added"), "topics", "list_type"),
        (webhook_body(url="ftp://example.com/x"), "url", "url_scheme_not_allowed"),
        (webhook_body(url="not a url"), "url", "url_invalid"),
        (webhook_body(url="https://user:pw@example.com/x"), "url", "url_credentials_not_allowed"),
        (webhook_body(url="https://10.0.0.1/x"), "url", "url_blocked_address"),
        (webhook_body(url="https://[::ffff:169.254.169.254]/x"), "url", "url_blocked_address"),
        (webhook_body(url="https://e.com/" + "a" * 2040), "url", "url_too_long"),
        (webhook_body(extra=1), "extra", "extra_forbidden"),
    ],
)
def test_bad_webhook_input_is_refused_and_changes_nothing(
    client: TestClient,
    platform: PlatformHandle,
    ctx: Context,
    body: dict[str, Any],
    field: str,
    code: str,
) -> None:
    r = client.post("/v1/webhooks", json=body, headers=platform.headers)
    problem = assert_problem(r, 422, "validation_error")
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [(field, code)]
    assert field.split("[")[0] in problem["errors"][0]["message"]
    assert count_rows(ctx) == 0


def test_bad_patch_changes_nothing(client: TestClient, platform: PlatformHandle) -> None:
    hook = create(client, platform)
    r = client.patch(
        f"/v1/webhooks/{hook['id']}",
        json={"name": "ok", "url": "https://192.168.1.1/"},
        headers=platform.headers,
    )
    assert_problem(r, 422, "validation_error")
    assert client.get(f"/v1/webhooks/{hook['id']}", headers=platform.headers).json() == hook


def test_http_urls_need_the_setting(
    ctx: Context, client: TestClient, platform: PlatformHandle
) -> None:
    ctx.allow_http = False
    r = client.post(
        "/v1/webhooks", json=webhook_body(url="http://example.com/"), headers=platform.headers
    )
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["code"] == "url_scheme_not_allowed"
    assert "HOOKLINE_ALLOW_HTTP" in body["detail"]


def test_loopback_needs_the_allow_list(
    ctx: Context, client: TestClient, platform: PlatformHandle
) -> None:
    create(client, platform, url="http://127.0.0.1:9000/hook")
    ctx.allowed_networks = ()
    r = client.post(
        "/v1/webhooks", json=webhook_body(url="http://127.0.0.1:9000/"), headers=platform.headers
    )
    assert assert_problem(r, 422, "validation_error")["errors"][0]["code"] == "url_blocked_address"


def test_invalid_json_is_a_400(client: TestClient, platform: PlatformHandle, ctx: Context) -> None:
    r = client.post(
        "/v1/webhooks",
        content=b'{"name": "x", ',
        headers={**platform.headers, "Content-Type": "application/json"},
    )
    assert_problem(r, 400, "invalid_json")
    assert count_rows(ctx) == 0


def test_oversized_body_is_a_413(client: TestClient, platform: PlatformHandle) -> None:
    r = client.post("/v1/webhooks", json=webhook_body(name="x" * 70_000), headers=platform.headers)
    assert_problem(r, 413, "payload_too_large")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}, OP],
)
def test_platform_routes_need_a_platform_token(
    client: TestClient, platform: PlatformHandle, headers: dict[str, str]
) -> None:
    r = client.get("/v1/webhooks", headers=headers)
    assert_problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"


def test_a_revoked_token_stops_working(client: TestClient, platform: PlatformHandle) -> None:
    r = client.post(f"/v1/admin/platforms/{platform.id}/tokens", headers=OP)
    second = r.json()
    headers = {"Authorization": f"Bearer {second['token']}"}
    assert client.get("/v1/platform", headers=headers).status_code == 200
    r = client.delete(f"/v1/admin/platforms/{platform.id}/tokens/{second['id']}", headers=OP)
    assert r.status_code == 204
    assert_problem(client.get("/v1/platform", headers=headers), 401, "unauthorized")
    assert client.get("/v1/platform", headers=platform.headers).status_code == 200


def test_tenants_never_see_each_other(client: TestClient, make_platform: Any) -> None:
    a, b = make_platform(), make_platform()
    hook = create(client, a)
    url = f"/v1/webhooks/{hook['id']}"
    for method, path, json in [
        ("GET", url, None),
        ("PATCH", url, {"name": "mine now"}),
        ("DELETE", url, None),
        ("POST", f"{url}/stop", None),
        ("POST", f"{url}/resume", None),
        ("GET", f"{url}/secret", None),
        ("POST", f"{url}/secret/rotate", None),
    ]:
        r = client.request(method, path, json=json, headers=b.headers)
        assert_problem(r, 404, "webhook_not_found")
    assert client.get("/v1/webhooks", headers=b.headers).json()["data"] == []
    assert client.get(url, headers=a.headers).json() == hook


def test_idempotency_key_replays_the_first_create(
    client: TestClient, platform: PlatformHandle, ctx: Context
) -> None:
    headers = {**platform.headers, "Idempotency-Key": "create-1"}
    first = client.post("/v1/webhooks", json=webhook_body(), headers=headers)
    again = client.post("/v1/webhooks", json=webhook_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert count_rows(ctx) == 1
    other = client.post("/v1/webhooks", json=webhook_body(name="other"), headers=headers)
    assert_problem(other, 422, "idempotency_key_reused")
    assert count_rows(ctx) == 1


def _secret_bytes(secret: str) -> bytes:
    assert secret.startswith("whsec_")
    return base64.b64decode(secret.removeprefix("whsec_"), validate=True)


def test_secret_reveal_is_audited_and_encrypted_at_rest(
    client: TestClient, platform: PlatformHandle, ctx: Context
) -> None:
    hook = create(client, platform)
    other = create(client, platform, name="other")
    r = client.get(
        f"/v1/webhooks/{hook['id']}/secret", headers={**platform.headers, "User-Agent": "pytest-ua"}
    )
    secret = r.json()["secret"]
    assert len(_secret_bytes(secret)) >= 32
    assert (
        client.get(f"/v1/webhooks/{hook['id']}/secret", headers=platform.headers).json()["secret"]
        == secret
    )
    other_secret = client.get(f"/v1/webhooks/{other['id']}/secret", headers=platform.headers)
    assert other_secret.json()["secret"] != secret
    with ctx.db.read() as conn:
        stored = [row.ciphertext for row in conn.execute(select(webhook_secrets)).all()]
        audits = conn.execute(
            select(audit_log)
            .where(audit_log.c.action == "webhook.secret.reveal")
            .order_by(audit_log.c.id)
        ).all()
    assert all(secret not in c and secret.removeprefix("whsec_") not in c for c in stored)
    assert [a.action for a in audits] == ["webhook.secret.reveal"] * 3
    assert audits[0].target_id == hook["id"]
    assert audits[0].platform_id == platform.id
    assert audits[0].actor_kind == "platform_token"
    assert audits[0].ip == "testclient"
    assert audits[0].user_agent == "pytest-ua"


def test_rotation_without_grace_ends_the_old_secret_now(
    client: TestClient, platform: PlatformHandle, ctx: Context
) -> None:
    hook = create(client, platform)
    old = client.get(f"/v1/webhooks/{hook['id']}/secret", headers=platform.headers).json()["secret"]
    new = client.post(f"/v1/webhooks/{hook['id']}/secret/rotate", headers=platform.headers).json()[
        "secret"
    ]
    assert new != old
    assert (
        client.get(f"/v1/webhooks/{hook['id']}/secret", headers=platform.headers).json()["secret"]
        == new
    )
    assert webhook_service.signing_secrets(ctx, hook["id"]) == [new]


def test_rotation_with_grace_keeps_the_old_secret_until_it_ends(
    client: TestClient, platform: PlatformHandle, ctx: Context, clock: Any
) -> None:
    hook = create(client, platform)
    old = client.get(f"/v1/webhooks/{hook['id']}/secret", headers=platform.headers).json()["secret"]
    r = client.post(
        f"/v1/webhooks/{hook['id']}/secret/rotate",
        json={"expire_old_after_seconds": 3600},
        headers=platform.headers,
    )
    new = r.json()["secret"]
    assert webhook_service.signing_secrets(ctx, hook["id"]) == [new, old]
    clock.advance(seconds=3599)
    assert webhook_service.signing_secrets(ctx, hook["id"]) == [new, old]
    clock.advance(seconds=1)
    assert webhook_service.signing_secrets(ctx, hook["id"]) == [new]


@pytest.mark.parametrize("grace", [-1, 7 * 24 * 3600 + 1, "soon"])
def test_rotation_grace_is_bounded(
    client: TestClient, platform: PlatformHandle, ctx: Context, grace: Any
) -> None:
    hook = create(client, platform)
    old = client.get(f"/v1/webhooks/{hook['id']}/secret", headers=platform.headers).json()["secret"]
    r = client.post(
        f"/v1/webhooks/{hook['id']}/secret/rotate",
        json={"expire_old_after_seconds": grace},
        headers=platform.headers,
    )
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["field"] == "expire_old_after_seconds"
    assert webhook_service.signing_secrets(ctx, hook["id"]) == [old]


def test_secrets_and_tokens_never_reach_the_logs(
    client: TestClient, platform: PlatformHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = create(client, platform)
    secret = client.get(f"/v1/webhooks/{hook['id']}/secret", headers=platform.headers).json()[
        "secret"
    ]
    rotated = client.post(f"/v1/webhooks/{hook['id']}/secret/rotate", headers=platform.headers)
    text = "\n".join(r.getMessage() for r in caplog.records)
    for value in (secret, rotated.json()["secret"], platform.token):
        assert value not in text


def test_every_bad_field_is_reported_at_once(
    client: TestClient, platform: PlatformHandle, ctx: Context
) -> None:
    body = {"name": "", "url": "https://10.1.1.1/", "topics": ["nope", "prize.points_added"]}
    r = client.post("/v1/webhooks", json=body, headers=platform.headers)
    problem = assert_problem(r, 422, "validation_error")
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("name", "name_empty"),
        ("url", "url_blocked_address"),
        ("topics[0]", "unknown_topic"),
    ]
    assert count_rows(ctx) == 0
