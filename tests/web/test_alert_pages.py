"""The alert settings pages: a member's own emails, the operator's operational webhook."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update

from hookline.domain.models import Role
from hookline.services import alerts, users
from hookline.services.context import Context
from hookline.store import tables
from tests.conftest import FakeClock
from tests.web.conftest import PASSWORD, Dashboard, english_ui_words

OPERATOR_EMAIL = "ops@hookline.example"


def member_id(ctx: Context, dashboard: Dashboard) -> str:
    found = users.find_user_by_email(ctx, dashboard.email)
    assert found is not None
    return found.id


def test_a_member_turns_alert_emails_off_and_picks_a_language(
    ctx: Context, dashboard: Dashboard
) -> None:
    page = dashboard.client.get("/settings")
    assert page.status_code == 200 and 'id="email_alerts"' in page.text and "checked" in page.text
    r = dashboard.post("/settings", {"language": "zh-TW"}, page="/settings")
    assert r.status_code == 303 and r.headers["location"] == "/settings?notice=saved"
    found = alerts.user_alerts(ctx, member_id(ctx, dashboard))
    assert (found.email_alerts, found.language) == (False, "zh-TW")
    r = dashboard.post("/settings", {"email_alerts": "on", "language": "en"}, page="/settings")
    assert alerts.user_alerts(ctx, member_id(ctx, dashboard)).email_alerts is True


def test_a_bad_language_changes_nothing(ctx: Context, dashboard: Dashboard) -> None:
    r = dashboard.post("/settings", {"language": "fr\x00"}, page="/settings")
    assert r.status_code == 422 and 'id="error"' in r.text
    found = alerts.user_alerts(ctx, member_id(ctx, dashboard))
    assert (found.email_alerts, found.language) == (True, "en")  # from the sign-in


def test_the_settings_page_is_chinese_in_chinese(dashboard: Dashboard) -> None:
    dashboard.client.get("/lang/zh-TW")
    page = dashboard.client.get("/settings").text
    assert "電子郵件通知" in page
    assert english_ui_words(page, dashboard.email) == set()


def test_settings_need_a_session_and_a_csrf_token(app_client: TestClient) -> None:
    r = app_client.get("/settings", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_the_operator_sets_the_ops_webhook_and_sees_its_secret_once(
    ctx: Context, clock: FakeClock, app_client: TestClient, dashboard: Dashboard
) -> None:
    assert dashboard.client.get("/operator/alerts").status_code == 403  # a member
    users.create_user(
        ctx, email=OPERATOR_EMAIL, password=PASSWORD, role=Role.OPERATOR, platform_id=None
    )
    op = Dashboard(app_client, dashboard.platform_id, OPERATOR_EMAIL)
    op.login()
    r = op.post("/operator/alerts", {"url": "http://127.0.0.1:9/ops"}, page="/operator/alerts")
    assert r.status_code == 200 and 'id="new-secret-value"' in r.text
    assert alerts.ops_hook(ctx).url == "http://127.0.0.1:9/ops"
    again = op.client.get("/operator/alerts").text
    assert 'id="new-secret-value"' not in again and "http://127.0.0.1:9/ops" in again
    bad = op.post("/operator/alerts", {"url": "ftp://x.example/h"}, page="/operator/alerts")
    assert bad.status_code == 422 and "field-error" in bad.text
    assert alerts.ops_hook(ctx).url == "http://127.0.0.1:9/ops"
    cleared = op.post("/operator/alerts", {"url": ""}, page="/operator/alerts")
    assert cleared.status_code == 303 and alerts.ops_hook(ctx).url is None
    op.client.get("/lang/zh-TW")
    page = op.client.get("/operator/alerts").text
    assert english_ui_words(page, OPERATOR_EMAIL) == set()


def test_emails_follow_the_dashboards_language_until_one_is_chosen(
    ctx: Context, clock: FakeClock, app_client: TestClient, dashboard: Dashboard
) -> None:
    user_id = member_id(ctx, dashboard)
    assert alerts.user_alerts(ctx, user_id).language == "en"  # signed in in English
    with ctx.db.write() as conn:  # as before this feature: no language recorded
        conn.execute(update(tables.users).values(language=None))
    app_client.get("/lang/zh-TW")
    dashboard.login()
    assert alerts.user_alerts(ctx, user_id).language == "zh-TW"
    dashboard.post("/settings", {"language": "en", "email_alerts": "on"}, page="/settings")
    app_client.get("/lang/zh-TW")
    dashboard.login()
    assert alerts.user_alerts(ctx, user_id).language == "en"  # the choice stands
