"""The audit page: a member sees their platform's entries, an operator everyone's."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from hookline.domain.models import Role
from hookline.services import platforms, users, webhooks
from hookline.services.context import Context
from tests.conftest import FakeClock
from tests.support.receiver import Receiver
from tests.web.conftest import PASSWORD, Dashboard, english_ui_words, make_platform
from tests.web.test_marketer_pages import ZH, create

OPERATOR_EMAIL = "ops@hookline.example"


def test_a_member_sees_who_did_what_on_their_platform_only(
    dashboard: Dashboard, receiver: Receiver, ctx: Context, clock: FakeClock
) -> None:
    webhook_id = create(dashboard, receiver.url())
    dashboard.post(f"/webhooks/{webhook_id}/secret/uncover", page=f"/webhooks/{webhook_id}")
    dashboard.post(f"/webhooks/{webhook_id}/stop", page=f"/webhooks/{webhook_id}")
    platforms.set_zone(ctx, dashboard.platform_id, 2, clock.now + timedelta(days=90))
    other = make_platform(ctx, clock, name="Tea")
    theirs = webhooks.create_webhook(
        ctx, other, name="t", url=receiver.url(), topics=["prize.points_added"]
    )
    html = dashboard.client.get("/audit").text
    for action in ("webhook.create", "webhook.secret.reveal", "webhook.stop", "zone.set:2"):
        assert f'data-action="{action}"' in html, action
    assert dashboard.email in html and "testclient" in html  # who, and from where
    assert theirs.id not in html and other not in html
    assert theirs.id not in dashboard.client.get("/audit", params={"platform": other}).text
    only = dashboard.client.get("/audit", params={"action": "webhook.stop"}).text
    assert only.count("data-audit=") == 1
    zh = dashboard.client.get("/audit", headers=ZH).text
    assert "稽核紀錄" in zh and english_ui_words(zh, dashboard.email) == set()


def test_an_operator_sees_every_platform_and_can_narrow(
    ctx: Context, clock: FakeClock, app_client: TestClient, receiver: Receiver
) -> None:
    first = make_platform(ctx, clock, name="Coffee")
    second = make_platform(ctx, clock, name="Tea")
    users.create_user(
        ctx, email=OPERATOR_EMAIL, password=PASSWORD, role=Role.OPERATOR, platform_id=None
    )
    operator = Dashboard(app_client, first, OPERATOR_EMAIL)
    operator.login()
    hook = webhooks.create_webhook(
        ctx, second, name="t", url=receiver.url(), topics=["prize.points_added"]
    )
    html = operator.client.get("/audit").text
    assert first in html and second in html and hook.id in html
    narrowed = operator.client.get("/audit", params={"platform": first}).text
    assert hook.id not in narrowed and 'data-action="zone.set:1"' in narrowed
    bad = operator.client.get("/audit", params={"platform": "pf_nope"})
    assert bad.status_code == 404
    assert 'href="/audit"' in operator.client.get("/operator").text


def test_the_audit_page_needs_a_login(app_client: TestClient) -> None:
    r = app_client.get("/audit", follow_redirects=False)
    assert r.status_code in (302, 303) and "/login" in r.headers["location"]
