"""What new users tripped over (issue 15, section 5), each checked where it showed.

The counted and joined texts, the attempts' times, the one banner at the limit, the
plain words for the idempotency key, the zone date field, and the 404 page a browser
gets for an unknown path while API clients keep their problem+json. Layout (nothing
wraps or breaks mid-word) is measured in a real browser: tests/browser/test_fit.py.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from hookline.catalog import TOPICS
from hookline.domain.models import Role
from hookline.services import deliveries, platforms, users, webhooks
from hookline.services.context import Context
from hookline.web.i18n import Translator
from tests.conftest import FakeClock
from tests.support.receiver import Answer, Receiver
from tests.web.conftest import PASSWORD, Dashboard, csrf_of, make_platform

EN, ZH = Translator("en"), Translator("zh-TW")
IN_ZH = {"Accept-Language": "zh-TW"}
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
ALERT = re.compile(r'<p class="alert ')


def main_of(html: str) -> str:
    return html.split('<main id="main">', 1)[1]


@pytest.fixture
def operator(ctx: Context, clock: FakeClock, app_client: TestClient) -> Dashboard:
    """An operator signed in, and one platform with both zones."""
    platform_id = make_platform(ctx, clock)
    email = "ops@hookline.example"
    users.create_user(ctx, email=email, password=PASSWORD, role=Role.OPERATOR, platform_id=None)
    dash = Dashboard(app_client, platform_id, email)
    dash.login()
    return dash


def zone_1_topics(t: Translator) -> str:
    names = [name for name, topic in TOPICS.items() if topic.zone == 1]
    assert len(names) > 1, "zone 1 needs several topics for a list"
    return t.join(t(f"topic.{name}") for name in names)


# --- counted and joined texts ----------------------------------------------------------


def test_a_throttled_login_says_1_second_and_2_seconds(
    dashboard: Dashboard, clock: FakeClock
) -> None:
    c = dashboard.client
    c.cookies.clear()
    form = {"email": dashboard.email, "password": "wrong password!"}

    def attempt(password: str, headers: dict[str, str] | None = None) -> str:
        token = csrf_of(c.get("/login").text)
        r = c.post(
            "/login", data={**form, "password": password, "csrf_token": token}, headers=headers
        )
        assert r.status_code in (401, 429)
        return r.text

    for _ in range(users.THROTTLE_AFTER):
        attempt("wrong password!")
    assert users.login_wait(users.THROTTLE_AFTER) == 1
    page = attempt(PASSWORD)
    assert EN.plural("login.throttled", 1, seconds=1) in page
    assert "Try again in 1 second." in page and "1 seconds" not in page
    assert ZH.plural("login.throttled", 1, seconds=1) in attempt(PASSWORD, IN_ZH)

    clock.advance(seconds=1)
    attempt("wrong password!")  # the fourth failure in a row: the wait doubles
    assert "Try again in 2 seconds." in attempt(PASSWORD)


def test_a_member_reads_zone_topics_joined_the_way_each_language_lists(
    dashboard: Dashboard,
) -> None:
    for lang, t, headers in (("en", EN, {}), ("zh-TW", ZH, IN_ZH)):
        member = dashboard.client.get("/webhooks", headers=headers).text
        row = member.split('data-zone="1"', 1)[1].split("</tr>", 1)[0]
        assert zone_1_topics(t) in row, lang
    assert "、" in zone_1_topics(ZH) and ", " not in zone_1_topics(ZH)


def test_an_operator_reads_zone_topics_joined_the_same_way(operator: Dashboard) -> None:
    for lang, t, headers in (("en", EN, {}), ("zh-TW", ZH, IN_ZH)):
        page = operator.client.get(f"/operator/platforms/{operator.platform_id}", headers=headers)
        assert zone_1_topics(t) in page.text, lang


def test_a_member_reads_what_the_zone_without_webhook_types_holds(dashboard: Dashboard) -> None:
    """Zone 3 (the Open API push) lists no webhook types: its cell says so, in words."""
    for lang, t, headers in (("en", EN, {}), ("zh-TW", ZH, IN_ZH)):
        member = dashboard.client.get("/webhooks", headers=headers).text
        row = member.split('data-zone="3"', 1)[1].split("</tr>", 1)[0]
        assert t("zone_holds.3") in row, lang


def test_an_operator_reads_what_the_zone_without_webhook_types_holds(operator: Dashboard) -> None:
    for lang, t, headers in (("en", EN, {}), ("zh-TW", ZH, IN_ZH)):
        page = operator.client.get(f"/operator/platforms/{operator.platform_id}", headers=headers)
        zone_3 = page.text.split('data-zone="3"', 1)[1].split("</fieldset>", 1)[0]
        assert t("zone_holds.3") in zone_3, lang


# --- the limit: one banner -------------------------------------------------------------


def test_at_the_limit_the_create_form_shows_one_banner_in_the_singular(
    dashboard: Dashboard, ctx: Context, receiver: Receiver
) -> None:
    platforms.update_platform(ctx, dashboard.platform_id, webhook_limit=1)
    webhooks.create_webhook(
        ctx, dashboard.platform_id, name="CRM", url=receiver.url(), topics=["prize.points_added"]
    )
    at_limit = EN.plural("list.at_limit", 1, limit=1)
    assert "1 working webhook," in at_limit

    page = dashboard.client.get("/webhooks/new").text
    assert len(ALERT.findall(main_of(page))) == 1 and at_limit in page
    listing = dashboard.client.get("/webhooks").text
    assert len(ALERT.findall(main_of(listing))) == 1 and at_limit in listing

    # a form opened before the limit was reached, sent now: still one banner
    r = dashboard.post(
        "/webhooks/new",
        {"name": "Late", "url": receiver.url(), "topics": ["prize.points_added"]},
        page="/webhooks/new",
    )
    assert r.status_code == 422
    banners = ALERT.findall(main_of(r.text))
    assert len(banners) == 1, r.text
    assert EN.plural("limit.reached", 1, working=1, limit=1) in r.text
    assert "1 working webhook;" in r.text
    assert len(webhooks.list_webhooks(ctx, dashboard.platform_id, limit=10).items) == 1


# --- the attempts table ----------------------------------------------------------------


def test_attempts_seconds_apart_show_their_seconds_under_started_and_took(
    dashboard: Dashboard, ctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    hook = webhooks.create_webhook(
        ctx, dashboard.platform_id, name="CRM", url=receiver.url(), topics=["prize.points_added"]
    )
    receiver.policy = lambda _r: Answer(status=500)
    page = f"/webhooks/{hook.id}"
    dashboard.post(f"{page}/test", {"topic": "prize.points_added"}, page=page)
    log, _ = deliveries.list_deliveries(ctx, dashboard.platform_id, hook.id)
    delivery = f"{page}/deliveries/{log[0].id}"
    moments = [clock.now]
    for step in (1, 2):
        clock.advance(seconds=step)
        moments.append(clock.now)
        dashboard.post(f"{delivery}/resend", page=delivery)

    zone = ZoneInfo(platforms.get_platform(ctx, dashboard.platform_id).timezone)
    shown = [m.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") for m in moments]
    assert len(set(shown)) == 3  # one minute, three seconds
    for lang, t, headers in (("en", EN, {}), ("zh-TW", ZH, IN_ZH)):
        html = dashboard.client.get(delivery, headers=headers).text
        attempts = html.split('id="attempts"', 1)[1].split("</table>", 1)[0]
        for moment in shown:
            assert f">{moment}</td>" in attempts, (lang, moment)
        heads = re.findall(r"<th>([^<]*)</th>", attempts)
        assert t("delivery.started") in heads and t("delivery.took") in heads, lang
        assert heads.count(t("log.when")) == 0, lang  # no two columns both called "Time"
    assert (EN("delivery.started"), EN("delivery.took")) == ("Started", "Took")


def test_the_idempotency_key_is_named_for_what_it_does(
    dashboard: Dashboard, ctx: Context, receiver: Receiver
) -> None:
    hook = webhooks.create_webhook(
        ctx, dashboard.platform_id, name="CRM", url=receiver.url(), topics=["prize.points_added"]
    )
    page = f"/webhooks/{hook.id}"
    dashboard.post(f"{page}/test", {"topic": "prize.points_added"}, page=page)
    log, _ = deliveries.list_deliveries(ctx, dashboard.platform_id, hook.id)
    for t, headers in ((EN, {}), (ZH, IN_ZH)):
        html = dashboard.client.get(f"{page}/deliveries/{log[0].id}", headers=headers).text
        assert f"<dt>{t('delivery.key')}</dt>" in html
        assert t("delivery.key_hint") in html
        assert log[0].idempotency_key in html
    zh = dashboard.client.get(f"{page}/deliveries/{log[0].id}", headers=IN_ZH).text
    assert "<dt>冪等鍵</dt>" not in zh
    assert "重複處理" in ZH("delivery.key_hint") and "ignores" in EN("delivery.key_hint")


# --- the zone date ---------------------------------------------------------------------


def test_the_zone_date_is_typed_as_the_page_shows_it(operator: Dashboard, ctx: Context) -> None:
    """A date picker shows the browser's locale (12/31/2027); the page shows 2027-12-31."""
    page = f"/operator/platforms/{operator.platform_id}"
    html = operator.client.get(page).text
    field = re.search(r'<input id="zone-1-date"[^>]*>', html, flags=re.S)
    assert field, "no zone date field"
    assert 'type="text"' in field.group(0) and 'placeholder="YYYY-MM-DD"' in field.group(0)
    assert 'type="date"' not in html
    before = platforms.overview(ctx, operator.platform_id).zones
    for typed in ("12/31/2027", "2027-13-01", "tomorrow"):
        r = operator.post(f"{page}/zones/1", {"valid_until": typed}, page=page)
        assert r.status_code == 422
        assert 'id="zone-1-error">Enter the date as YYYY-MM-DD, such as 2027-12-31.<' in r.text
    assert platforms.overview(ctx, operator.platform_id).zones == before


# --- an unknown path -------------------------------------------------------------------


def test_a_browser_gets_a_404_page_in_its_language(dashboard: Dashboard) -> None:
    for t, lang in ((EN, "en"), (ZH, "zh-TW")):
        r = dashboard.client.get(
            "/no/such/page", headers={"Accept": BROWSER, "Accept-Language": lang}
        )
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/html")
        assert f'<html lang="{lang}">' in r.text
        assert f"<h1>{t('error.not_found_title')}</h1>" in r.text
        assert t("error.not_found") in r.text and 'href="/static/app.css"' in r.text
        assert dashboard.email in r.text  # signed in: the page keeps its header
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    dashboard.client.cookies.clear()
    signed_out = dashboard.client.get("/reports/2026?page=2", headers={"Accept": BROWSER})
    assert signed_out.status_code == 404 and "<h1>Page not found</h1>" in signed_out.text
    assert dashboard.email not in signed_out.text


def test_api_clients_still_get_problem_json_for_an_unknown_path(dashboard: Dashboard) -> None:
    c = dashboard.client
    cases = [
        ("GET", "/no/such/page", {}),  # httpx sends */*, as curl does
        ("GET", "/no/such/page", {"Accept": "application/json"}),
        ("GET", "/v1/nothing-here", {"Accept": "application/problem+json, text/html;q=0.5"}),
        ("GET", "/static/missing.css", {"Accept": "text/css,*/*;q=0.1"}),
        ("POST", "/no/such/page", {"Accept": BROWSER}),
        ("GET", "/no/such/page", {"Accept": "text/html;q=0"}),
    ]
    for method, path, headers in cases:
        r = c.request(method, path, headers=headers)
        assert r.status_code == 404, (method, path, headers)
        assert r.headers["content-type"] == "application/problem+json", (method, path, headers)
        assert r.json()["code"] == "not_found"
    # a known route's 405 is not touched
    r = c.get("/v1/webhooks/wh_x/stop", headers={"Accept": BROWSER})
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
