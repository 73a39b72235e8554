"""Generated hostile text in every dashboard form: login, the webhook forms, the operator's.

Forms arrive urlencoded, so a lone surrogate comes as the bytes a careless encoder makes
of it (``%ED%A0%80``). Whatever arrives: never a 5xx, and nothing stored that the other
backend could not store. Bounded: a few dozen examples per test and backend.
"""

from __future__ import annotations

import urllib.parse

import httpx
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookline.domain.models import Role
from hookline.services import users, webhooks
from hookline.services.context import Context
from tests.support.hostile import form_body, hostile_text, unportable_text
from tests.web.conftest import PASSWORD, Dashboard, csrf_of
from tests.web.test_operator_pages import operator  # noqa: F401  (a fixture)

BOUNDED = settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TOPIC = "receipt.receipt_validated"


def submit(client: TestClient, page: str, path: str, fields: dict[str, str]) -> httpx.Response:
    """A form POST with the page's CSRF token and hostile values sent as raw bytes."""
    token = csrf_of(client.get(page).text)
    body = form_body({"csrf_token": token, **fields})
    r = client.post(path, content=body, headers=FORM, follow_redirects=False)
    assert r.status_code < 500, (path, r.text[:500])
    return r


def visit(client: TestClient, path: str, value: str) -> None:
    part = urllib.parse.quote_from_bytes(value[:1000].encode("utf-8", "surrogatepass"), safe="")
    r = client.get(path.format(part), follow_redirects=False)
    assert r.status_code < 500, (path, r.text[:500])


@BOUNDED
@given(email=hostile_text, password=hostile_text)
def test_login_form(app_client: TestClient, ctx: Context, email: str, password: str) -> None:
    submit(app_client, "/login", "/login", {"email": email, "password": password})
    submit(app_client, "/login", "/login", {"email": "mia@coffee.example", "password": password})
    assert unportable_text(ctx.db) == []


@BOUNDED
@given(
    name=hostile_text,
    url=st.one_of(st.just("https://crm.example.com/h"), hostile_text),
    topic=st.one_of(st.just(TOPIC), hostile_text),
    other=hostile_text,
)
def test_webhook_forms(
    dashboard: Dashboard, ctx: Context, name: str, url: str, topic: str, other: str
) -> None:
    client = dashboard.client
    submit(client, "/webhooks/new", "/webhooks/new", {"name": name, "url": url, "topics": topic})
    hook = webhooks.create_webhook(
        ctx, dashboard.platform_id, name="fuzz", url="http://127.0.0.1:9/h", topics=[TOPIC]
    ).id
    page = f"/webhooks/{hook}"
    submit(client, page, f"{page}/test", {"topic": other})
    submit(client, page, f"{page}/secret/change", {"grace_seconds": other})
    webhooks.delete_webhook(ctx, dashboard.platform_id, hook)  # stay under the limit
    for path in ("/webhooks/{}", page + "?state={}", page + "?topic={}", "/webhooks?cursor={}"):
        visit(client, path, other)
    assert unportable_text(ctx.db) == []


@BOUNDED
@given(name=hostile_text, timezone=hostile_text, number=hostile_text, email=hostile_text)
def test_operator_forms(
    operator: Dashboard,  # noqa: F811
    ctx: Context,
    name: str,
    timezone: str,
    number: str,
    email: str,
) -> None:
    client = operator.client
    page = f"/operator/platforms/{operator.platform_id}"
    fields = {"name": name, "timezone": timezone, "webhook_limit": number}
    submit(client, "/operator", "/operator/platforms", fields)
    submit(client, page, f"{page}/settings", {**fields, "retry_policy": email})
    submit(client, page, f"{page}/zones/1", {"valid_until": number})
    submit(client, page, f"{page}/users", {"email": email, "password": name})
    visit(client, "/operator/platforms/{}", name)
    assert unportable_text(ctx.db) == []


def test_the_login_form_still_signs_in(app_client: TestClient, ctx: Context) -> None:
    """The suite above only ever fails to sign in; the same path must still succeed."""
    users.create_user(
        ctx, email="ops@x.example", password=PASSWORD, role=Role.OPERATOR, platform_id=None
    )
    r = submit(app_client, "/login", "/login", {"email": "ops@x.example", "password": PASSWORD})
    assert r.status_code == 303, r.text


def test_a_pasted_control_character_is_named_beside_its_field(dashboard: Dashboard) -> None:
    fields = {"name": "CRM\u202e", "url": "https://crm.example.com/h", "topics": TOPIC}
    r = submit(dashboard.client, "/webhooks/new", "/webhooks/new", fields)
    assert r.status_code == 422, r.text
    assert "invisible control or direction-changing characters" in r.text


@BOUNDED
@given(language=hostile_text, flag=hostile_text, token=hostile_text)
def test_alert_settings_and_the_portal_link(
    dashboard: Dashboard, ctx: Context, language: str, flag: str, token: str
) -> None:
    fields = {"language": language, "email_alerts": flag}
    submit(dashboard.client, "/settings", "/settings", fields)
    visit(dashboard.client, "/portal/{}", token)
    assert unportable_text(ctx.db) == []


@BOUNDED
@given(url=hostile_text)
def test_operational_webhook_form(
    operator: Dashboard,  # noqa: F811  (the fixture imported above)
    ctx: Context,
    url: str,
) -> None:
    r = submit(operator.client, "/operator/alerts", "/operator/alerts", {"url": url})
    assert r.status_code in (200, 303, 413, 422), r.status_code
    assert unportable_text(ctx.db) == []
