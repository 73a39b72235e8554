"""The operator's pages: platforms, zones, limits, API tokens and users, in both languages.

Each test drives the real app through forms (with CSRF tokens, as a browser does) and
checks the effect through the use cases, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hookline.domain.errors import Unauthorized
from hookline.domain.models import Role
from hookline.domain.retry import RetryPolicy
from hookline.services import platforms, users
from hookline.services.context import Context
from hookline.store.tables import audit_log
from tests.conftest import FakeClock
from tests.web.conftest import PASSWORD, Dashboard, csrf_of, english_ui_words, make_platform

OPERATOR_EMAIL = "ops@hookline.example"
ZH = {"Accept-Language": "zh-TW"}
TOKEN = re.compile(r'id="new-token-value">(hlp_[^<]+)<')


@pytest.fixture
def operator(ctx: Context, clock: FakeClock, app_client: TestClient) -> Dashboard:
    """An operator signed in, and one platform ("Coffee", both zones for 30 days)."""
    platform_id = make_platform(ctx, clock)
    users.create_user(
        ctx, email=OPERATOR_EMAIL, password=PASSWORD, role=Role.OPERATOR, platform_id=None
    )
    dash = Dashboard(app_client, platform_id, OPERATOR_EMAIL)
    dash.login()
    return dash


def page_of(dash: Dashboard) -> str:
    return f"/operator/platforms/{dash.platform_id}"


def post(dash: Dashboard, path: str, data: dict[str, object] | None = None, **headers: str):
    """A form POST from the operator's platform page, with that page's CSRF token."""
    html = dash.client.get(page_of(dash)).text
    form = {"csrf_token": csrf_of(html), **(data or {})}
    return dash.client.post(path, data=form, headers=headers, follow_redirects=False)


def settings_form(**changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "name": "Coffee",
        "timezone": "Asia/Taipei",
        "webhook_limit": "3",
        "retry_policy": "extended",
    }
    form.update(changes)
    return form


# --- both languages --------------------------------------------------------------------


def test_platform_list_renders_in_english_and_chinese(operator: Dashboard) -> None:
    en = operator.client.get("/operator")
    assert en.status_code == 200
    assert "Create platform" in en.text
    assert f'data-platform="{operator.platform_id}"' in en.text
    assert "Coffee" in en.text
    assert "0 / 3 working" in en.text
    assert 'data-zone-state="valid"' in en.text

    zh = operator.client.get("/operator", headers=ZH)
    assert zh.status_code == 200
    assert "建立平台" in zh.text
    assert "區域 1 購買有效期限" in zh.text
    assert "Create platform" not in zh.text
    assert "Purchase valid until" not in zh.text
    assert english_ui_words(zh.text, operator.email, "Coffee", "Asia/Taipei") == set()


def test_platform_page_renders_in_english_and_chinese(operator: Dashboard) -> None:
    en = operator.client.get(page_of(operator))
    assert en.status_code == 200
    for text in ("API tokens", "Users", "Webhook limit", "End now", 'placeholder="YYYY-MM-DD"'):
        assert text in en.text

    zh = operator.client.get(page_of(operator), headers=ZH)
    assert zh.status_code == 200
    for text in ("API 權杖", "使用者", "Webhook 上限", "立即結束", "重試策略"):
        assert text in zh.text
    for text in ("API tokens", "End now", "Retry policy", "Save settings"):
        assert text not in zh.text
    assert english_ui_words(zh.text, operator.email, "Coffee", "Asia/Taipei") == set()


def test_unknown_platform_is_a_translated_404(operator: Dashboard) -> None:
    r = operator.client.get("/operator/platforms/pf_nope", headers=ZH)
    assert r.status_code == 404
    assert "此平台不存在" in r.text


# --- platforms -------------------------------------------------------------------------


def test_creating_a_platform_shows_its_token_once(operator: Dashboard, ctx: Context) -> None:
    r = post(
        operator,
        "/operator/platforms",
        {"name": "Tea House", "timezone": "Asia/Tokyo", "webhook_limit": "5"},
    )
    assert r.status_code == 201, r.text
    assert "location" not in r.headers  # the token is in this page, never in a URL
    match = TOKEN.search(r.text)
    assert match, "the new token is on the page"
    token = match.group(1)
    found = platforms.authenticate(ctx, token)
    created = platforms.get_platform(ctx, found.platform_id)
    assert (created.name, created.timezone, created.webhook_limit) == ("Tea House", "Asia/Tokyo", 5)
    assert "shown only once" in r.text

    again = operator.client.get(f"/operator/platforms/{created.id}")
    assert again.status_code == 200
    assert token not in again.text
    assert 'id="new-token"' not in again.text
    listed = operator.client.get("/operator")
    assert f'data-platform="{created.id}"' in listed.text
    assert token not in listed.text


def test_creating_a_platform_with_bad_fields_shows_each_error(
    operator: Dashboard, ctx: Context
) -> None:
    before = len(platforms.list_platforms(ctx))
    r = post(
        operator,
        "/operator/platforms",
        {"name": "  ", "timezone": "Mars/Olympus", "webhook_limit": "-1"},
        **ZH,
    )
    assert r.status_code == 422
    assert re.search(r'id="name-error">請輸入名稱。<', r.text)
    assert re.search(r'id="timezone-error">請輸入 IANA 時區名稱', r.text)
    assert re.search(r'id="webhook_limit-error">此數值超出範圍。<', r.text)
    assert 'value="Mars/Olympus"' in r.text  # what was typed stays in the form
    assert len(platforms.list_platforms(ctx)) == before

    r = post(operator, "/operator/platforms", {"name": "Tea", "webhook_limit": "three"})
    assert r.status_code == 422
    assert re.search(r'id="webhook_limit-error">Enter a whole number.<', r.text)
    assert len(platforms.list_platforms(ctx)) == before


def test_changing_limit_name_and_retry_policy(operator: Dashboard, ctx: Context) -> None:
    form = settings_form(name="Coffee Taipei", webhook_limit="7", retry_policy="maac")
    r = post(operator, f"{page_of(operator)}/settings", form)
    assert r.status_code == 303
    assert r.headers["location"] == f"{page_of(operator)}?notice=saved"
    platform = platforms.get_platform(ctx, operator.platform_id)
    assert (platform.name, platform.webhook_limit) == ("Coffee Taipei", 7)
    assert platform.retry_policy is RetryPolicy.MAAC

    shown = operator.client.get(r.headers["location"])
    assert "The settings were saved." in shown.text
    assert 'id="fact-limit">7<' in shown.text


def test_a_bad_limit_is_shown_beside_the_field_and_changes_nothing(
    operator: Dashboard, ctx: Context
) -> None:
    before = platforms.get_platform(ctx, operator.platform_id)
    form = settings_form(name="Renamed", webhook_limit="-1")
    r = post(operator, f"{page_of(operator)}/settings", form, **ZH)
    assert r.status_code == 422
    assert re.search(r'id="webhook_limit-error">此數值超出範圍。<', r.text)
    assert 'value="-1"' in r.text
    assert "This value is out of range." not in r.text
    after = platforms.get_platform(ctx, operator.platform_id)
    assert (after.name, after.webhook_limit) == (before.name, before.webhook_limit)

    r = post(operator, f"{page_of(operator)}/settings", settings_form(retry_policy="forever"))
    assert r.status_code == 422
    assert re.search(r'id="retry_policy-error">Choose one of the retry policies.<', r.text)
    assert platforms.get_platform(ctx, operator.platform_id).retry_policy is before.retry_policy


# --- zones -----------------------------------------------------------------------------


def test_a_date_means_the_end_of_that_day_in_the_platform_time_zone(
    operator: Dashboard, ctx: Context
) -> None:
    r = post(operator, f"{page_of(operator)}/zones/2", {"valid_until": "2027-03-31"})
    assert r.status_code == 303
    assert r.headers["location"].endswith("?notice=zone_set")
    zone = platforms.overview(ctx, operator.platform_id).zones[1]
    assert zone.zone == 2
    assert zone.valid_until == datetime(2027, 3, 31, 23, 59, 59, tzinfo=ZoneInfo("Asia/Taipei"))
    assert zone.valid

    page = operator.client.get(page_of(operator)).text
    assert "2027-03-31 23:59" in page
    assert 'id="zone-2-date" name="valid_until" type="text" value="2027-03-31"' in page


def test_a_date_and_time_is_read_in_the_platform_time_zone(
    operator: Dashboard, ctx: Context
) -> None:
    r = post(operator, f"{page_of(operator)}/zones/1", {"valid_until": "2027-01-15T18:30"})
    assert r.status_code == 303
    zone = platforms.overview(ctx, operator.platform_id).zones[0]
    assert zone.valid_until == datetime(2027, 1, 15, 10, 30, tzinfo=ZoneInfo("UTC"))


def test_a_bad_date_is_shown_beside_its_zone_and_changes_nothing(
    operator: Dashboard, ctx: Context
) -> None:
    before = platforms.overview(ctx, operator.platform_id).zones
    r = post(operator, f"{page_of(operator)}/zones/1", {"valid_until": "31/12/2027"}, **ZH)
    assert r.status_code == 422
    assert re.search(r'id="zone-1-error">請輸入日期', r.text)
    assert 'id="zone-2-error"' not in r.text
    assert platforms.overview(ctx, operator.platform_id).zones == before


def test_ending_a_zone_now(operator: Dashboard, ctx: Context, clock: FakeClock) -> None:
    r = post(operator, f"{page_of(operator)}/zones/1/end")
    assert r.status_code == 303
    assert r.headers["location"].endswith("?notice=zone_ended")
    zone = platforms.overview(ctx, operator.platform_id).zones[0]
    assert zone.valid_until == clock.now
    assert not zone.valid
    page = operator.client.get(page_of(operator)).text
    assert 'data-zone-state="expired"' in page
    assert 'id="zone-1-end"' not in page  # nothing left to end
    assert 'id="zone-2-end"' in page


def test_a_zone_that_was_never_bought_says_so(
    operator: Dashboard, ctx: Context, clock: FakeClock
) -> None:
    other = make_platform(ctx, clock, name="Bakery", zones=())
    listed = operator.client.get("/operator", headers=ZH).text
    row = listed.split(f'data-platform="{other}"')[1].split("</tr>")[0]
    assert row.count("未購買") == 3  # zones 1, 2 and 3


# --- API tokens ------------------------------------------------------------------------


def test_creating_a_token_shows_it_once(operator: Dashboard, ctx: Context) -> None:
    r = post(operator, f"{page_of(operator)}/tokens")
    assert r.status_code == 201
    match = TOKEN.search(r.text)
    assert match
    assert platforms.authenticate(ctx, match.group(1)).platform_id == operator.platform_id
    assert match.group(1) not in operator.client.get(page_of(operator)).text


def test_revoking_a_token(operator: Dashboard, ctx: Context) -> None:
    token_id, token = platforms.create_token(ctx, operator.platform_id)
    r = post(operator, f"{page_of(operator)}/tokens/{token_id}/revoke")
    assert r.status_code == 303
    assert r.headers["location"].endswith("?notice=token_revoked")
    with pytest.raises(Unauthorized):
        platforms.authenticate(ctx, token)
    revoked = {t.id: t for t in platforms.list_tokens(ctx, operator.platform_id)}[token_id]
    assert revoked.revoked_at is not None

    page = operator.client.get(r.headers["location"], headers=ZH).text
    assert "API 權杖已撤銷" in page
    row = page.split(f'data-token="{token_id}"')[1].split("</tr>")[0]
    assert "已於" in row
    assert "/revoke" not in row

    again = post(operator, f"{page_of(operator)}/tokens/{token_id}/revoke")
    assert again.status_code == 404
    assert "already revoked" in again.text


# --- users -----------------------------------------------------------------------------


def test_creating_a_member_who_can_then_log_in(
    operator: Dashboard, ctx: Context, app_client: TestClient
) -> None:
    r = post(
        operator,
        f"{page_of(operator)}/users",
        {"email": "Lin@Coffee.example", "password": "a long enough password"},
    )
    assert r.status_code == 303
    assert r.headers["location"].endswith("?notice=user_created")
    members = users.list_users(ctx, operator.platform_id)
    assert [(u.email, u.role) for u in members] == [("lin@coffee.example", Role.MEMBER)]
    assert "lin@coffee.example" in operator.client.get(page_of(operator)).text

    app_client.cookies.clear()
    member = Dashboard(app_client, operator.platform_id, "lin@coffee.example")
    member.login(password="a long enough password")
    assert app_client.get("/webhooks").status_code == 200


def test_user_errors_are_shown_beside_their_fields(operator: Dashboard, ctx: Context) -> None:
    users.create_user(
        ctx,
        email="mia@coffee.example",
        password=PASSWORD,
        role=Role.MEMBER,
        platform_id=operator.platform_id,
    )
    r = post(
        operator,
        f"{page_of(operator)}/users",
        {"email": "MIA@coffee.example", "password": "another good password"},
        **ZH,
    )
    assert r.status_code == 409
    assert re.search(r'id="email-error">此電子郵件已被其他使用者使用。<', r.text)
    assert "another good password" not in r.text  # a password is never sent back

    r = post(operator, f"{page_of(operator)}/users", {"email": "not-an-email", "password": "short"})
    assert r.status_code == 422
    assert re.search(r'id="email-error">Enter an email address', r.text)
    assert re.search(r'id="password-error">The password must be 10 to 1024 characters', r.text)
    assert 'value="not-an-email"' in r.text
    assert len(users.list_users(ctx, operator.platform_id)) == 1


def test_deleting_a_member(operator: Dashboard, ctx: Context) -> None:
    member = users.create_user(
        ctx,
        email="mia@coffee.example",
        password=PASSWORD,
        role=Role.MEMBER,
        platform_id=operator.platform_id,
    )
    r = post(operator, f"{page_of(operator)}/users/{member.id}/delete")
    assert r.status_code == 303
    assert users.list_users(ctx, operator.platform_id) == []


def test_deleting_someone_not_on_this_platform_is_refused(
    operator: Dashboard, ctx: Context
) -> None:
    me = users.find_user_by_email(ctx, OPERATOR_EMAIL)
    assert me is not None
    r = post(operator, f"{page_of(operator)}/users/{me.id}/delete")
    assert r.status_code == 404
    assert users.find_user_by_email(ctx, OPERATOR_EMAIL) is not None


# --- who may ---------------------------------------------------------------------------


def test_a_post_without_csrf_token_is_refused_and_changes_nothing(
    operator: Dashboard, ctx: Context
) -> None:
    before = len(platforms.list_platforms(ctx))
    operator.client.get("/operator")  # the CSRF cookie is set; the form field is missing
    r = operator.client.post(
        f"{page_of(operator)}/settings",
        data=settings_form(webhook_limit="9"),
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert platforms.get_platform(ctx, operator.platform_id).webhook_limit == 3
    r = operator.client.post(
        "/operator/platforms",
        data={"name": "Sneaky", "csrf_token": "x" * 43},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert len(platforms.list_platforms(ctx)) == before


def test_a_member_may_not_open_operator_pages(dashboard: Dashboard, ctx: Context) -> None:
    r = dashboard.client.get("/operator")
    assert r.status_code == 403
    assert "Your account cannot open this page." in r.text
    assert dashboard.client.get(f"/operator/platforms/{dashboard.platform_id}").status_code == 403
    r = dashboard.post(
        f"/operator/platforms/{dashboard.platform_id}/settings",
        settings_form(webhook_limit="100"),
    )
    assert r.status_code == 403
    assert platforms.get_platform(ctx, dashboard.platform_id).webhook_limit == 3


def test_anonymous_visitors_are_sent_to_login(app_client: TestClient) -> None:
    r = app_client.get("/operator", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/operator"


def test_reloading_an_action_address_returns_to_its_page(operator: Dashboard) -> None:
    """After a POST the address bar shows the action; a reload or language switch GETs it."""
    r = operator.client.get(f"{page_of(operator)}/tokens", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == page_of(operator)
    r = operator.client.get("/operator/platforms", follow_redirects=False)
    assert r.headers["location"] == "/operator"


def test_expired_purchases_show_as_expired(
    operator: Dashboard, ctx: Context, clock: FakeClock
) -> None:
    for zone in (1, 2):  # (moving the clock 31 days would end the login session too)
        platforms.set_zone(ctx, operator.platform_id, zone, clock.now - timedelta(days=1))
    page = operator.client.get("/operator").text
    row = page.split(f'data-platform="{operator.platform_id}"')[1].split("</tr>")[0]
    assert row.count('data-zone-state="expired"') == 2


# --- audit -----------------------------------------------------------------------------


def test_operator_changes_are_audited_with_the_signed_in_user(
    operator: Dashboard, ctx: Context, clock: FakeClock
) -> None:
    post(operator, f"{page_of(operator)}/settings", settings_form(webhook_limit="5"))
    post(operator, f"{page_of(operator)}/zones/1", {"valid_until": "2027-06-30"})
    post(operator, f"{page_of(operator)}/tokens")
    with ctx.db.read() as conn:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.platform_id == operator.platform_id)
        ).all()
    by_user = {(r.action, r.actor_kind) for r in rows if r.actor_kind == "user"}
    assert by_user == {
        ("platform.update:name,retry_policy,timezone,webhook_limit", "user"),
        ("zone.set:1", "user"),
        ("token.create", "user"),
    }
    assert all(r.ip == "testclient" for r in rows if r.actor_kind == "user")
