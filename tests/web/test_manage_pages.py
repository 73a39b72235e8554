"""Acting from the dashboard: edit a webhook, resend what failed, change my password."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update

from hookline.domain.models import Role
from hookline.services import audit, deliveries, platforms, users, webhooks
from hookline.services.audit import AuditEntry
from hookline.services.context import Context
from hookline.store.tables import deliveries as deliveries_table
from tests.conftest import FakeClock
from tests.integration.test_api_deliveries import deliver_all
from tests.support.receiver import Answer, Receiver
from tests.web.conftest import PASSWORD, Dashboard, csrf_of, english_ui_words, make_platform
from tests.web.test_health_pages import publish
from tests.web.test_marketer_pages import ZH, create

NEW_PASSWORD = "a much longer passphrase"


def test_edit_saves_name_url_and_topics_with_the_apis_checks(
    dashboard: Dashboard, receiver: Receiver, ctx: Context
) -> None:
    webhook_id = create(dashboard, receiver.url())
    edit = f"/webhooks/{webhook_id}/edit"
    form = dashboard.client.get(edit).text
    assert 'value="Shop"' in form and 'name="topics" value="prize.points_added"' in form
    bad = dashboard.post(edit, {"name": " ", "url": "ftp://x", "topics": []}, page=edit)
    assert bad.status_code == 422
    assert 'id="name-error"' in bad.text and 'id="url-error"' in bad.text
    assert 'id="topics-error"' in bad.text
    assert webhooks.get_webhook(ctx, dashboard.platform_id, webhook_id).name == "Shop"

    new_url = receiver.url("/v2")
    data: dict[str, object] = {"name": "Shop v2", "url": new_url, "topics": ["message.first_open"]}
    r = dashboard.post(edit, data, page=edit)
    assert r.status_code == 303 and r.headers["location"].endswith("?notice=updated")
    saved = webhooks.get_webhook(ctx, dashboard.platform_id, webhook_id)
    assert (saved.name, saved.url, saved.topics) == ("Shop v2", new_url, ("message.first_open",))
    assert "The webhook was saved." in dashboard.client.get(r.headers["location"]).text


def test_edit_refuses_a_topic_of_an_unpurchased_zone(
    dashboard: Dashboard, receiver: Receiver, ctx: Context, clock: FakeClock
) -> None:
    webhook_id = create(dashboard, receiver.url())
    platforms.set_zone(ctx, dashboard.platform_id, 2, clock.now - timedelta(days=1))
    edit = f"/webhooks/{webhook_id}/edit"
    zone_two = "message.first_open"
    r = dashboard.post(edit, {"name": "Shop", "url": receiver.url(), "topics": [zone_two]}, edit)
    assert r.status_code == 422 and 'id="topics-error"' in r.text
    assert webhooks.get_webhook(ctx, dashboard.platform_id, webhook_id).topics == (
        "prize.points_added",
    )


def test_recover_counts_first_then_resends_that_many(
    dashboard: Dashboard, receiver: Receiver, ctx: Context, clock: FakeClock
) -> None:
    webhook_id = create(dashboard, receiver.url())
    receiver.policy = lambda _r: Answer(status=500)
    publish(ctx, dashboard.platform_id, 2)
    deliver_all(ctx)
    with ctx.db.write() as conn:  # as if every retry had failed: they gave up
        conn.execute(
            update(deliveries_table)
            .where(deliveries_table.c.webhook_id == webhook_id)
            .values(state="failed", next_attempt_at=None, completed_at=clock.now)
        )
    log, _ = deliveries.list_deliveries(ctx, dashboard.platform_id, webhook_id)
    assert {d.state for d in log} == {"failed"}
    page = f"/webhooks/{webhook_id}/recover"
    since = (clock.now - timedelta(days=1)).date().isoformat()
    preview = dashboard.client.get(page, params={"since": since}).text
    assert 'data-count="2"' in preview and "Resend 2 event(s)" in preview
    clean = f"/webhooks/{create(dashboard, receiver.url(), name='Clean')}/recover"
    nothing = dashboard.client.get(clean, params={"since": since}).text
    assert 'data-count="0"' in nothing and 'id="recover-submit"' not in nothing

    receiver.policy = lambda _r: Answer(status=200)
    r = dashboard.post(page, {"since": since}, page=page)
    assert r.status_code == 303 and r.headers["location"].endswith("done=2")
    assert "2 event(s) were queued" in dashboard.client.get(r.headers["location"]).text
    deliver_all(ctx)
    log, _ = deliveries.list_deliveries(ctx, dashboard.platform_id, webhook_id)
    assert {d.state for d in log} == {"delivered"}
    zh = dashboard.client.get(page, headers=ZH).text
    assert english_ui_words(zh, receiver.url(), "Shop") == set()


def test_recover_with_a_bad_day_explains_and_sends_nothing(
    dashboard: Dashboard, receiver: Receiver
) -> None:
    webhook_id = create(dashboard, receiver.url())
    page = f"/webhooks/{webhook_id}/recover"
    assert dashboard.client.get(page, params={"since": "soon"}).status_code == 422
    assert dashboard.client.get(page, params={"since": "2999-01-01"}).status_code == 422
    future = "2999-01-01"
    r = dashboard.post(page, {"since": future}, page=page)
    assert r.status_code == 422 and 'id="recover-error"' in r.text


def test_another_platforms_webhook_cannot_be_edited_or_recovered(
    dashboard: Dashboard, receiver: Receiver, ctx: Context, clock: FakeClock
) -> None:
    other = make_platform(ctx, clock, name="Tea")
    theirs = webhooks.create_webhook(
        ctx, other, name="t", url=receiver.url(), topics=["prize.points_added"]
    )
    for path in (f"/webhooks/{theirs.id}/edit", f"/webhooks/{theirs.id}/recover"):
        assert dashboard.client.get(path).status_code == 404
    data: dict[str, object] = {
        "name": "mine now",
        "url": receiver.url(),
        "topics": ["prize.points_added"],
    }
    assert dashboard.post(f"/webhooks/{theirs.id}/edit", data).status_code == 404
    assert (
        dashboard.post(f"/webhooks/{theirs.id}/recover", {"since": "2026-01-01"}).status_code == 404
    )
    assert webhooks.get_webhook(ctx, other, theirs.id).name == "t"


def change(dash: Dashboard, current: str, new: str, repeat: str | None = None) -> Response:
    page = "/account/password"
    data: dict[str, object] = {
        "current_password": current,
        "new_password": new,
        "repeat_password": repeat or new,
    }
    return dash.post(page, data, page=page)


def test_a_member_changes_their_password_and_other_sessions_end(
    dashboard: Dashboard, ctx: Context, app_client: TestClient
) -> None:
    with TestClient(app_client.app, base_url="http://testserver") as elsewhere:
        other = Dashboard(elsewhere, dashboard.platform_id, dashboard.email)
        other.login()
        assert change(dashboard, "wrong password!", NEW_PASSWORD).status_code == 422
        assert change(dashboard, PASSWORD, NEW_PASSWORD, "different one!!").status_code == 422
        assert change(dashboard, PASSWORD, "short").status_code == 422
        r = change(dashboard, PASSWORD, NEW_PASSWORD)
        assert r.status_code == 303
        assert "Your password was changed" in dashboard.client.get(r.headers["location"]).text
        assert dashboard.client.get("/webhooks").status_code == 200  # still signed in here
        assert elsewhere.get("/webhooks", follow_redirects=False).status_code in (302, 303)
    dashboard.client.cookies.clear()
    dashboard.login(password=NEW_PASSWORD)
    actions = [e.action for e in _audit(ctx, dashboard.platform_id)]
    assert "user.password.set" in actions


def _audit(ctx: Context, platform_id: str) -> list[AuditEntry]:
    return audit.read(ctx, audit.audit_filter(platform_id=platform_id)).items


def test_an_operator_changes_their_password_in_chinese(
    ctx: Context, clock: FakeClock, app_client: TestClient
) -> None:
    users.create_user(
        ctx, email="ops@hookline.example", password=PASSWORD, role=Role.OPERATOR, platform_id=None
    )
    operator = Dashboard(app_client, make_platform(ctx, clock), "ops@hookline.example")
    operator.login()
    html = operator.client.get("/account/password", headers=ZH).text
    assert "變更密碼" in html and english_ui_words(html, operator.email) == set()
    token = csrf_of(html)
    data = {
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "repeat_password": NEW_PASSWORD,
        "csrf_token": token,
    }
    r = operator.client.post("/account/password", data=data, follow_redirects=False)
    assert r.status_code == 303
    operator.client.cookies.clear()
    operator.login(password=NEW_PASSWORD)


def test_the_password_form_needs_csrf_and_a_login(app_client: TestClient) -> None:
    assert app_client.get("/account/password", follow_redirects=False).status_code in (302, 303)
    r = app_client.post("/account/password", data={"current_password": "x"})
    assert r.status_code == 403
