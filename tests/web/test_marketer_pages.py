"""The marketer's dashboard over a real app, database and loopback receiver."""

from __future__ import annotations

import hashlib
import hmac
import re
import socket
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hookline.domain.models import Role
from hookline.services import deliveries, platforms, users, webhooks
from hookline.services.context import Context
from hookline.store.tables import audit_log
from tests.conftest import FakeClock
from tests.support.receiver import Answer, Receiver
from tests.web.conftest import PASSWORD, Dashboard, csrf_of, english_ui_words, make_platform

SECRET = re.compile(r'id="secret-value">(whsec_[A-Za-z0-9+/=]+)<')
ZH = {"Accept-Language": "zh-TW"}


def create(
    dash: Dashboard, url: str, name: str = "Shop", topics: tuple[str, ...] = ("prize.points_added",)
) -> str:
    r = dash.post("/webhooks/new", {"name": name, "url": url, "topics": list(topics)})
    assert r.status_code == 303, r.text
    return r.headers["location"].split("?")[0].rsplit("/", 1)[1]


def test_pages_need_a_login(app_client: TestClient) -> None:
    r = app_client.get("/webhooks", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/webhooks"
    assert app_client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_session_and_csrf_cookies_are_httponly_and_lax(dashboard: Dashboard) -> None:
    page = dashboard.client.get("/login")
    cookies = page.headers.get_list("set-cookie")
    dashboard.client.cookies.clear()
    page = dashboard.client.get("/login")
    token = csrf_of(page.text)
    r = dashboard.client.post(
        "/login",
        data={"email": dashboard.email, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookies = [*page.headers.get_list("set-cookie"), *r.headers.get_list("set-cookie")]
    session = next(c for c in cookies if c.startswith("hookline_session="))
    csrf = next(c for c in cookies if c.startswith("hookline_csrf="))
    for cookie in (session, csrf):
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain http in this test; https sets it
    assert r.headers["location"] == "/webhooks"


def test_secure_cookie_over_https(ctx: Context, clock: FakeClock, dashboard: Dashboard) -> None:
    client = TestClient(dashboard.client.app, base_url="https://testserver")
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"email": dashboard.email, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert all("Secure" in c for c in r.headers.get_list("set-cookie"))


def test_login_errors_are_translated_and_throttled(dashboard: Dashboard, clock: FakeClock) -> None:
    c = dashboard.client
    c.cookies.clear()
    token = csrf_of(c.get("/login").text)
    form = {"email": dashboard.email, "password": "wrong password!", "csrf_token": token}
    r = c.post("/login", data=form)
    assert r.status_code == 401 and "The email or password is not right." in r.text
    r = c.post("/login", data=form, headers=ZH)
    assert r.status_code == 401 and "電子郵件或密碼不正確" in r.text
    c.post("/login", data=form)
    r = c.post("/login", data={**form, "password": PASSWORD})  # right, but must wait now
    assert r.status_code == 429 and "Try again in" in r.text
    clock.advance(seconds=5)
    r = c.post("/login", data={**form, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303


def test_post_without_csrf_is_refused_and_changes_nothing(
    dashboard: Dashboard, ctx: Context, receiver: Receiver
) -> None:
    r = dashboard.client.post(
        "/webhooks/new",
        data={"name": "Shop", "url": receiver.url(), "topics": ["prize.points_added"]},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "Reload the page" in r.text
    r = dashboard.client.post(
        "/webhooks/new",
        data={
            "name": "Shop",
            "url": receiver.url(),
            "topics": ["prize.points_added"],
            "csrf_token": "forged-token-of-the-right-length-xxxxxxx",
        },
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert webhooks.list_webhooks(ctx, dashboard.platform_id).items == []


def test_logout_ends_the_session(dashboard: Dashboard) -> None:
    r = dashboard.post("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert dashboard.client.get("/webhooks", follow_redirects=False).status_code == 303


def test_empty_list_explains_and_links_the_engineer_guide(dashboard: Dashboard) -> None:
    page = dashboard.client.get("/webhooks").text
    assert 'id="empty-state"' in page and 'href="/help/engineers"' in page
    assert "0 / 3 working" in page
    guide = dashboard.client.get("/help/engineers", headers=ZH).text
    assert "給工程師的說明" in guide and "CrescLab-Signature" in guide


def test_create_list_and_details(dashboard: Dashboard, receiver: Receiver) -> None:
    webhook_id = create(
        dashboard, receiver.url(), topics=("prize.points_added", "message.first_open")
    )
    page = dashboard.client.get(f"/webhooks/{webhook_id}?notice=created").text
    assert "The webhook was created." in page and "whsec_••••" in page
    listing = dashboard.client.get("/webhooks").text
    assert f'data-webhook="{webhook_id}"' in listing
    assert "Reward points added" in listing and "Message opened for the first time" in listing
    assert (
        receiver.url() in listing and "1 / 3 working" in listing and "Nothing sent yet" in listing
    )
    assert "Zone 1" in listing and "Zone 2" in listing


def test_field_errors_appear_beside_the_field_in_the_page_language(
    dashboard: Dashboard, ctx: Context
) -> None:
    token = csrf_of(dashboard.client.get("/webhooks/new").text)
    r = dashboard.client.post(
        "/webhooks/new",
        data={"name": " ", "url": "ftp://x", "csrf_token": token},
        headers=ZH,
    )
    assert r.status_code == 422
    assert 'id="name-error">請輸入名稱。' in r.text
    assert 'id="topics-error">請至少選擇一種類型。' in r.text
    assert 'id="url-error"' in r.text
    assert "must" not in r.text  # no English service message leaks into the page
    assert webhooks.list_webhooks(ctx, dashboard.platform_id).items == []


def test_topics_of_an_expired_or_unpurchased_zone_cannot_be_chosen(
    ctx: Context, clock: FakeClock, app_client: TestClient, receiver: Receiver
) -> None:
    platform_id = make_platform(ctx, clock, zones=(1,))
    platforms.set_zone(ctx, platform_id, 1, clock.now - timedelta(days=1))
    users.create_user(
        ctx, email="lee@tea.example", password=PASSWORD, role=Role.MEMBER, platform_id=platform_id
    )
    dash = Dashboard(app_client, platform_id, "lee@tea.example")
    dash.login()
    page = dash.client.get("/webhooks/new").text
    assert page.count("disabled aria-describedby") == 6
    assert (
        "Zone 2 has not been purchased." in page
        and "The purchase of zone 1 was valid until" in page
    )
    listing = dash.client.get("/webhooks").text
    assert 'id="create-blocked"' in listing and "No zone is purchased and valid" in listing
    r = dash.post(
        "/webhooks/new", {"name": "x", "url": receiver.url(), "topics": ["prize.points_added"]}
    )
    assert r.status_code == 422 and "The purchase of zone 1 has expired." in r.text


def test_the_limit_disables_create_with_the_reason(
    dashboard: Dashboard, receiver: Receiver, ctx: Context
) -> None:
    for i in range(3):
        create(dashboard, receiver.url(f"/h{i}"), name=f"hook {i}")
    listing = dashboard.client.get("/webhooks").text
    assert "3 / 3 working" in listing
    assert re.search(
        r'<button type="button" class="primary" disabled[^>]*id="create-button"', listing
    )
    assert "its limit. Stop or delete one" in listing
    r = dashboard.post(
        "/webhooks/new", {"name": "four", "url": receiver.url(), "topics": ["prize.points_added"]}
    )
    assert r.status_code == 422 and "limit is 3" in r.text
    assert len(webhooks.list_webhooks(ctx, dashboard.platform_id).items) == 3


def test_stop_resume_delete(dashboard: Dashboard, receiver: Receiver, ctx: Context) -> None:
    webhook_id = create(dashboard, receiver.url())
    page = f"/webhooks/{webhook_id}"
    r = dashboard.post(f"{page}/stop", page=page)
    assert r.headers["location"] == f"{page}?notice=stopped"
    assert not webhooks.get_webhook(ctx, dashboard.platform_id, webhook_id).is_working
    assert 'data-status="stopped"' in dashboard.client.get(page).text
    dashboard.post(f"{page}/resume", page=page)
    assert webhooks.get_webhook(ctx, dashboard.platform_id, webhook_id).is_working
    r = dashboard.post(f"{page}/delete", page=page)
    assert r.headers["location"] == "/webhooks?notice=deleted"
    assert webhooks.list_webhooks(ctx, dashboard.platform_id).items == []
    assert dashboard.client.get(page).status_code == 404


def test_resume_over_the_limit_is_explained(dashboard: Dashboard, receiver: Receiver) -> None:
    first = create(dashboard, receiver.url("/a"), name="a")
    dashboard.post(f"/webhooks/{first}/stop", page=f"/webhooks/{first}")
    for i in range(3):
        create(dashboard, receiver.url(f"/b{i}"), name=f"b{i}")
    r = dashboard.post(f"/webhooks/{first}/resume", page=f"/webhooks/{first}")
    assert r.status_code == 409 and "limit is 3" in r.text


def test_uncover_is_audited_and_change_gives_a_new_secret(
    dashboard: Dashboard, receiver: Receiver, ctx: Context
) -> None:
    webhook_id = create(dashboard, receiver.url())
    page = f"/webhooks/{webhook_id}"
    r = dashboard.post(f"{page}/secret/uncover", page=page)
    match = SECRET.search(r.text)
    assert match
    first = match.group(1)
    assert first == webhooks.signing_secrets(ctx, webhook_id)[0]
    with ctx.db.read() as conn:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.action == "webhook.secret.reveal")
        ).all()
    assert [(row.actor_kind, row.target_id) for row in rows] == [("user", webhook_id)]
    r = dashboard.post(f"{page}/secret/change", {"grace_seconds": 3600}, page=page)
    match = SECRET.search(r.text)
    assert match and match.group(1) != first
    assert "The share secret was changed." in r.text
    assert webhooks.signing_secrets(ctx, webhook_id) == [match.group(1), first]  # grace hour


def test_send_test_shows_status_headers_body_and_a_verdict(
    dashboard: Dashboard, receiver: Receiver, ctx: Context
) -> None:
    webhook_id = create(dashboard, receiver.url())
    page = f"/webhooks/{webhook_id}"
    r = dashboard.post(f"{page}/test", {"topic": "prize.points_added"}, page=page)
    assert r.status_code == 200
    assert 'id="test-status"><code>200</code>' in r.text
    assert "Your server answered 200: the event was delivered." in r.text
    got = receiver.received()[-1]
    secret = webhooks.signing_secrets(ctx, webhook_id)[0]
    assert got.headers["CrescLab-Test"] == "true"
    assert (
        got.headers["CrescLab-Signature"]
        == hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest()
    )
    assert f"CrescLab-Signature: {got.headers['CrescLab-Signature']}" in r.text
    assert "prize.points_added" in r.text

    receiver.policy = lambda _r: Answer(status=500, body="database down")
    r = dashboard.post(
        f"{page}/test",
        {"topic": "prize.points_added"},
        page=page,
    )
    assert "Your server answered 500: MAAC-compatible senders retry this." in r.text
    assert "database down" in r.text
    zh = dashboard.client.get(page, headers=ZH).text
    assert "已送達" in zh and "失敗" in zh  # both tests are in the Chinese log

    receiver.policy = lambda _r: Answer(status=404)
    r = dashboard.post(f"{page}/test", {"topic": "prize.points_added"}, page=page)
    assert "do not retry this" in r.text


def test_delivery_log_filters_opens_and_resends(
    dashboard: Dashboard, receiver: Receiver, ctx: Context
) -> None:
    webhook_id = create(dashboard, receiver.url())
    page = f"/webhooks/{webhook_id}"
    receiver.policy = lambda _r: Answer(status=503)
    dashboard.post(f"{page}/test", {"topic": "prize.points_added"}, page=page)
    receiver.policy = lambda _r: Answer(status=200)
    dashboard.post(f"{page}/test", {"topic": "message.first_open"}, page=page)
    log, _ = deliveries.list_deliveries(ctx, dashboard.platform_id, webhook_id)
    failed = next(d for d in log if d.state == "failed")
    listing = dashboard.client.get(f"{page}?state=failed").text
    assert f'data-delivery="{failed.id}"' in listing and listing.count("data-delivery=") == 1
    listing = dashboard.client.get(f"{page}?topic=message.first_open").text
    assert listing.count("data-delivery=") == 1 and f'data-delivery="{failed.id}"' not in listing
    assert dashboard.client.get(f"{page}?state=nonsense").text.count("data-delivery=") == 2

    detail = dashboard.client.get(f"{page}/deliveries/{failed.id}").text
    assert failed.idempotency_key in detail and "<code>503</code>" in detail
    r = dashboard.post(
        f"{page}/deliveries/{failed.id}/resend", page=f"{page}/deliveries/{failed.id}"
    )
    assert r.status_code == 200 and "Your server answered 200" in r.text
    assert receiver.received()[-1].headers["CrescLab-Idempotency-Key"] == failed.idempotency_key
    assert deliveries.get_delivery(ctx, dashboard.platform_id, failed.id).state == "delivered"


def test_chart_counts_the_last_24_hours(dashboard: Dashboard, receiver: Receiver) -> None:
    webhook_id = create(dashboard, receiver.url())
    page = f"/webhooks/{webhook_id}"
    dashboard.post(f"{page}/test", {"topic": "prize.points_added"}, page=page)
    receiver.policy = lambda _r: Answer(status=500)
    dashboard.post(f"{page}/test", {"topic": "prize.points_added"}, page=page)
    html = dashboard.client.get(page).text
    assert 'aria-label="Last 24 hours: 1 delivered, 1 failed"' in html
    assert html.count('<rect class="delivered"') == 1 and html.count('<rect class="failed"') == 1


def test_another_platforms_webhook_is_not_found(
    dashboard: Dashboard, ctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    other = make_platform(ctx, clock, name="Tea")
    theirs = webhooks.create_webhook(
        ctx, other, name="t", url=receiver.url(), topics=["prize.points_added"]
    )
    mine = f"/webhooks/{theirs.id}"
    assert dashboard.client.get(mine).status_code == 404
    for action in ("stop", "delete", "secret/uncover", "secret/change"):
        assert dashboard.post(f"{mine}/{action}").status_code == 404
    assert dashboard.post(f"{mine}/test", {"topic": "prize.points_added"}).status_code == 404
    assert receiver.received() == []
    assert webhooks.get_webhook(ctx, other, theirs.id).is_working


def test_pages_carry_a_strict_content_security_policy(dashboard: Dashboard) -> None:
    r = dashboard.client.get("/webhooks")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert "<script>" not in r.text and 'style="' not in r.text
    assert not re.search(r'(src|href)="(https?:)?//', r.text)  # nothing from another origin


def test_language_switch_is_remembered(dashboard: Dashboard) -> None:
    r = dashboard.client.get("/lang/zh-TW?next=/webhooks", follow_redirects=False)
    assert r.headers["location"] == "/webhooks"
    page = dashboard.client.get("/webhooks", headers={"Accept-Language": "en"}).text
    assert '<html lang="zh-TW">' in page and "建立 Webhook" in page and "Create webhook" not in page
    r = dashboard.client.get("/lang/en?next=//evil.example", follow_redirects=False)
    assert r.headers["location"] == "/"


def test_login_redirects_only_to_local_pages(dashboard: Dashboard) -> None:
    c = dashboard.client
    c.cookies.clear()
    token = csrf_of(c.get("/login").text)
    r = c.post(
        "/login",
        data={
            "email": dashboard.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/webhooks"


def test_an_operator_has_no_marketer_pages(ctx: Context, app_client: TestClient) -> None:
    users.create_user(
        ctx, email="op@hookline.example", password=PASSWORD, role=Role.OPERATOR, platform_id=None
    )
    dash = Dashboard(app_client, "", "op@hookline.example")
    dash.login()
    assert app_client.get("/webhooks").status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks",
        "/webhooks/new",
        "/help/engineers",
        "{hook}",
        "{hook}?notice=created",
        "{delivery}",
    ],
)
def test_chinese_pages_hold_no_english_ui_words(
    dashboard: Dashboard, receiver: Receiver, ctx: Context, path: str
) -> None:
    """Every page in zh-TW, with a webhook, a test result and a delivery on it."""
    webhook_id = create(dashboard, receiver.url(), name="顧客系統")
    hook = f"/webhooks/{webhook_id}"
    sent = dashboard.post(f"{hook}/test", {"topic": "prize.points_added"}, page=hook)
    log, _ = deliveries.list_deliveries(ctx, dashboard.platform_id, webhook_id)
    pages = {"hook": hook, "delivery": f"{hook}/deliveries/{log[0].id}"}
    target = path.format(**pages) if path.startswith("{") else path
    html = dashboard.client.get(target, headers=ZH).text
    if path == "{hook}":  # the page answering the test send, with its result
        token = csrf_of(sent.text)
        html = dashboard.client.post(
            f"{hook}/test", data={"topic": "prize.points_added", "csrf_token": token}, headers=ZH
        ).text
    assert english_ui_words(html, receiver.url()) == set()


def test_an_unreachable_server_is_explained_in_the_page_language(
    dashboard: Dashboard, receiver: Receiver
) -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    webhook_id = create(dashboard, f"http://127.0.0.1:{port}/hook")
    page = f"/webhooks/{webhook_id}"
    r = dashboard.post(f"{page}/test", {"topic": "prize.points_added"}, page=page)
    assert "Your server could not be reached." in r.text and "Could not connect" in r.text
    token = csrf_of(dashboard.client.get(page).text)
    r = dashboard.client.post(
        f"{page}/test", data={"topic": "prize.points_added", "csrf_token": token}, headers=ZH
    )
    assert "無法連線到您的伺服器" in r.text
    text = re.sub(r"<(pre|code|script)\b.*?</\1>", "", r.text, flags=re.S)
    assert "refused" not in text.lower()  # the sender's English detail stays inside <code>


def test_times_are_shown_in_the_platforms_time_zone(
    dashboard: Dashboard, ctx: Context, receiver: Receiver
) -> None:
    """Zone dates, the log and a delivery's page all read in the platform's zone."""
    platforms.update_platform(ctx, dashboard.platform_id, timezone="America/New_York")
    webhook_id = create(dashboard, receiver.url())
    page = f"/webhooks/{webhook_id}"
    dashboard.post(f"{page}/test", {"topic": "prize.points_added"}, page=page)
    log, _ = deliveries.list_deliveries(ctx, dashboard.platform_id, webhook_id)
    # the fake clock says 2026-11-28 04:00 UTC; zones run 30 days: 12-27 23:00 in New York
    for path in ("/webhooks", page):
        html = dashboard.client.get(path).text
        assert "2026-12-27 23:00" in html and "2026-12-28 12:00" not in html, path
    html = dashboard.client.get(f"{page}/deliveries/{log[0].id}").text
    assert "2026-11-27 23:00" in html and "2026-11-28 12:00" not in html
