"""Operator routes for alerts and portal links, and the framing switch, over a real app.

Both backends; the portal link is opened with the same client, as the iframe would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from hookline.app import create_app
from hookline.config import Settings
from hookline.domain.models import Role
from hookline.services import users
from hookline.services.context import Context
from hookline.store.tables import audit_log
from tests.conftest import FakeClock
from tests.integration.conftest import OP, OPERATOR_TOKEN, PlatformHandle
from tests.support.hostile import as_json, document

PASSWORD = "correct horse battery"


def portal_link(client: TestClient, platform_id: str, **body: Any) -> Any:
    return client.post(f"/v1/admin/platforms/{platform_id}/portal-links", json=body, headers=OP)


def test_the_ops_webhook_secret_is_shown_once_and_null_clears_it(client: TestClient) -> None:
    r = client.put(
        "/v1/admin/alerts/webhook", json={"url": "https://ops.example.com/h"}, headers=OP
    )
    assert r.status_code == 200, r.text
    assert r.json()["url"] == "https://ops.example.com/h" and r.json()["secret"]
    shown = client.get("/v1/admin/alerts/webhook", headers=OP).json()
    assert shown["url"] == "https://ops.example.com/h" and shown["secret"] is None
    cleared = client.put("/v1/admin/alerts/webhook", json={"url": None}, headers=OP).json()
    assert cleared == {"url": None, "updated_at": None, "secret": None}
    assert client.get("/v1/admin/alerts/webhook", headers=OP).json()["url"] is None


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://ops.example.com/h", "url_scheme_not_allowed"),
        ("https://10.0.0.1/h", "url_blocked_address"),
    ],
)
def test_an_ops_webhook_url_gets_the_webhook_url_checks(ctx: Context, url: str, code: str) -> None:
    settings = Settings(operator_token=SecretStr(OPERATOR_TOKEN))
    strict = Context(db=ctx.db, box=ctx.box, clock=ctx.clock)  # no private networks, https
    with TestClient(create_app(settings, strict)) as c:
        r = c.put("/v1/admin/alerts/webhook", json={"url": url}, headers=OP)
    assert r.status_code == 422, r.text
    assert code in r.text
    assert c.get("/v1/admin/alerts/webhook", headers=OP).json()["url"] is None


@pytest.mark.parametrize("value", ["\x00", "\ud800", "x" * 70_000])
def test_hostile_ops_urls_are_refused(client: TestClient, value: str) -> None:
    r = client.put(
        "/v1/admin/alerts/webhook",
        content=document({"url": as_json(value)}),
        headers={**OP, "Content-Type": "application/json"},
    )
    assert r.status_code in (413, 422), r.text
    assert client.get("/v1/admin/alerts/webhook", headers=OP).json()["url"] is None


def test_alert_routes_need_the_operator_token(client: TestClient, platform: PlatformHandle) -> None:
    assert client.get("/v1/admin/alerts/webhook").status_code == 401
    assert client.get("/v1/admin/alerts/webhook", headers=platform.headers).status_code == 401
    assert portal_link(client, platform.id).status_code == 201  # with the token, it works
    r = client.post(f"/v1/admin/platforms/{platform.id}/portal-links", json={})
    assert r.status_code == 401


def test_a_users_alerts_are_switched_off_and_their_language_set(
    client: TestClient, platform: PlatformHandle
) -> None:
    made = client.post(
        f"/v1/admin/platforms/{platform.id}/users",
        json={"email": "mia@coffee.example", "password": PASSWORD},
        headers=OP,
    ).json()
    path = f"/v1/admin/users/{made['id']}/alerts"
    assert client.get(path, headers=OP).json() == {"email_alerts": True, "language": None}
    r = client.patch(path, json={"email_alerts": False, "language": "zh-TW"}, headers=OP)
    assert r.json() == {"email_alerts": False, "language": "zh-TW"}
    for bad in ({"language": "fr"}, {"email_alerts": "no"}, {"surprise": 1}):
        assert client.patch(path, json=bad, headers=OP).status_code == 422
    assert client.get(path, headers=OP).json() == {"email_alerts": False, "language": "zh-TW"}
    r = client.patch("/v1/admin/users/usr_missing/alerts", json={}, headers=OP)
    assert r.status_code == 404 and r.json()["code"] == "user_not_found"


def test_a_portal_link_signs_a_new_member_in_once(
    ctx: Context, client: TestClient, platform: PlatformHandle
) -> None:
    r = portal_link(client, platform.id, email="New@Coffee.example", ttl_seconds=60)
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["created_user"] is True and link["email"] == "new@coffee.example"
    member = users.get_user(ctx, link["user_id"])
    assert member.role is Role.MEMBER and member.platform_id == platform.id
    assert link["url"].startswith("http://testserver/portal/hlp_")

    opened = client.get(link["url"], follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/webhooks"
    assert "hookline_session" in opened.headers["set-cookie"]
    page = client.get("/webhooks")
    assert page.status_code == 200 and "new@coffee.example" in page.text

    fresh = TestClient(client.app)
    again = fresh.get(link["url"], follow_redirects=False)
    assert again.status_code == 410 and "already used" in again.text
    assert "set-cookie" not in again.headers or "session" not in again.headers["set-cookie"]
    with ctx.db.read() as conn:
        actions = set(conn.scalars(select(audit_log.c.action)))
    assert {"portal_link.create", "user.create"} <= actions

    second = portal_link(client, platform.id, email="new@coffee.example").json()
    assert second["created_user"] is False and second["user_id"] == link["user_id"]


def test_an_expired_or_unknown_link_is_refused_clearly(
    client: TestClient, platform: PlatformHandle, clock: FakeClock
) -> None:
    link = portal_link(client, platform.id, ttl_seconds=30).json()
    clock.advance(seconds=31)
    r = TestClient(client.app).get(link["url"], follow_redirects=False)
    assert r.status_code == 410 and "expired" in r.text
    zh = TestClient(client.app).get(
        "/portal/hlp_nothing", headers={"Accept-Language": "zh-TW"}, follow_redirects=False
    )
    assert zh.status_code == 410 and "此登入連結無效" in zh.text


def test_without_email_the_link_is_the_platforms_shared_member(
    ctx: Context, client: TestClient, platform: PlatformHandle
) -> None:
    first = portal_link(client, platform.id).json()
    second = portal_link(client, platform.id).json()
    assert first["user_id"] == second["user_id"] and second["created_user"] is False
    path = f"/v1/admin/users/{first['user_id']}/alerts"
    assert client.get(path, headers=OP).json()["email_alerts"] is False  # .invalid gets no mail


def test_a_link_never_crosses_tenants(ctx: Context, client: TestClient, make_platform: Any) -> None:
    mine, theirs = make_platform(), make_platform()
    client.post(
        f"/v1/admin/platforms/{theirs.id}/users",
        json={"email": "boss@theirs.example", "password": PASSWORD},
        headers=OP,
    )
    users.create_user(
        ctx, email="op@host.example", password=PASSWORD, role=Role.OPERATOR, platform_id=None
    )
    for email in ("boss@theirs.example", "op@host.example"):
        r = portal_link(client, mine.id, email=email)
        assert r.status_code == 409 and r.json()["code"] == "email_taken"
    r = portal_link(client, "plt_missing")
    assert r.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"ttl_seconds": 601},
        {"ttl_seconds": 0},
        {"email": ""},
        {"email": "not-an-email"},
        {"email": "a\x00@b.c"},
    ],
)
def test_bad_link_requests_change_nothing(
    ctx: Context, client: TestClient, platform: PlatformHandle, body: dict[str, Any]
) -> None:
    r = portal_link(client, platform.id, **body)
    assert r.status_code == 422, r.text
    assert users.list_users(ctx, platform.id) == []


@pytest.fixture
def framed(ctx: Context) -> Iterator[TestClient]:
    settings = Settings(
        operator_token=SecretStr(OPERATOR_TOKEN),
        frame_ancestors="https://app.example.com, http://127.0.0.1:8123",
    )
    with TestClient(create_app(settings, ctx)) as c:
        yield c


def test_framing_is_refused_by_default(client: TestClient) -> None:
    page = client.get("/login")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert "samesite=lax" in page.headers["set-cookie"].lower()


def test_frame_ancestors_let_those_origins_frame_the_dashboard_only(
    framed: TestClient, platform_in: Any
) -> None:
    page = framed.get("/login")
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors https://app.example.com http://127.0.0.1:8123;" in policy
    assert "x-frame-options" not in page.headers
    cookie = page.headers["set-cookie"].lower()
    assert "samesite=none" in cookie and "secure" in cookie and "partitioned" in cookie
    api = framed.get("/v1/admin/alerts/webhook", headers=OP)
    assert "frame-ancestors 'none'" in api.headers["content-security-policy"]
    assert api.headers["x-frame-options"] == "DENY"
    link = portal_link(framed, platform_in(framed)).json()
    opened = framed.get(link["url"], follow_redirects=False)
    assert "samesite=none" in opened.headers["set-cookie"].lower()


@pytest.fixture
def platform_in() -> Any:
    def make(c: TestClient) -> str:
        r = c.post("/v1/admin/platforms", json={"name": "Coffee"}, headers=OP)
        return str(r.json()["id"])

    return make
