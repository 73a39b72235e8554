"""CSRF tokens are bound to the session: a cookie planted by a neighbour stops nothing.

The attack of the review: a page on another port of the same host (or a sibling
subdomain over http) sets the CSRF cookie to a value it chose, then posts a form with
the same value. Double-submit accepted it; a session-bound token does not.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from hookline.domain.models import WebhookStatus
from hookline.services import users, webhooks
from hookline.services.context import Context
from tests.conftest import FakeClock
from tests.web.conftest import PASSWORD, Dashboard, csrf_of

PLANTED = "planted-by-a-neighbour-" + "x" * 20


def a_webhook(dash: Dashboard) -> str:
    r = dash.post(
        "/webhooks/new",
        {"name": "Shop", "url": "http://127.0.0.1:9/hook", "topics": ["prize.points_added"]},
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"].split("?")[0].rsplit("/", 1)[1])


def status_of(ctx: Context, dash: Dashboard, webhook_id: str) -> WebhookStatus:
    return webhooks.get_webhook(ctx, dash.platform_id, webhook_id).status


def test_a_planted_csrf_cookie_with_the_same_token_stops_nothing(
    dashboard: Dashboard, ctx: Context
) -> None:
    webhook_id = a_webhook(dashboard)
    dashboard.client.cookies.set("hookline_csrf", PLANTED)
    r = dashboard.client.post(
        f"/webhooks/{webhook_id}/stop", data={"csrf_token": PLANTED}, follow_redirects=False
    )
    assert r.status_code == 403
    r = dashboard.client.post(
        f"/webhooks/{webhook_id}/stop", headers={"X-CSRF-Token": PLANTED}, follow_redirects=False
    )
    assert r.status_code == 403
    assert status_of(ctx, dashboard, webhook_id) is WebhookStatus.WORKING


def test_a_login_token_the_attacker_got_for_their_own_cookie_stops_nothing(
    dashboard: Dashboard, app_client: TestClient, ctx: Context
) -> None:
    """The attacker's own pre-session pair (cookie and form token) is worth nothing later."""
    webhook_id = a_webhook(dashboard)
    attacker = TestClient(app_client.app, base_url="http://testserver")
    token = csrf_of(attacker.get("/login").text)
    dashboard.client.cookies.set("hookline_csrf", attacker.cookies["hookline_csrf"])
    r = dashboard.client.post(
        f"/webhooks/{webhook_id}/stop", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 403
    assert status_of(ctx, dashboard, webhook_id) is WebhookStatus.WORKING


def test_a_request_another_origin_sent_is_refused_with_a_good_token(
    dashboard: Dashboard, ctx: Context
) -> None:
    """Another port or a sibling subdomain is ``same-site``: refused, like ``cross-site``."""
    webhook_id = a_webhook(dashboard)
    token = csrf_of(dashboard.client.get(f"/webhooks/{webhook_id}").text)
    for site in ("same-site", "cross-site"):
        r = dashboard.client.post(
            f"/webhooks/{webhook_id}/stop",
            data={"csrf_token": token},
            headers={"Sec-Fetch-Site": site},
            follow_redirects=False,
        )
        assert r.status_code == 403
    assert status_of(ctx, dashboard, webhook_id) is WebhookStatus.WORKING
    r = dashboard.client.post(
        f"/webhooks/{webhook_id}/stop",
        data={"csrf_token": token},
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert status_of(ctx, dashboard, webhook_id) is WebhookStatus.STOPPED


def test_htmx_sends_the_session_token_in_its_header(dashboard: Dashboard, ctx: Context) -> None:
    webhook_id = a_webhook(dashboard)
    token = csrf_of(dashboard.client.get(f"/webhooks/{webhook_id}").text)
    r = dashboard.client.post(
        f"/webhooks/{webhook_id}/stop",
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        follow_redirects=False,
    )
    assert r.status_code in (200, 303)
    assert status_of(ctx, dashboard, webhook_id) is WebhookStatus.STOPPED


def test_the_token_changes_with_the_session(dashboard: Dashboard) -> None:
    """A token from one session is refused in the next one (here: after a new login)."""
    old = csrf_of(dashboard.client.get("/webhooks").text)
    assert dashboard.post("/logout").status_code == 303
    dashboard.login()
    r = dashboard.client.post("/logout", data={"csrf_token": old}, follow_redirects=False)
    assert r.status_code == 403
    assert csrf_of(dashboard.client.get("/webhooks").text) != old


def test_an_expired_session_still_leads_to_the_login_form(
    dashboard: Dashboard, clock: FakeClock
) -> None:
    """As before: the form passes the check, then the page asks for a login."""
    token = csrf_of(dashboard.client.get("/webhooks/new").text)
    clock.advance(seconds=users.SESSION_LIFETIME.total_seconds() + 1)
    r = dashboard.client.post(
        "/webhooks/new", data={"csrf_token": token, "name": "x"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_https_cookies_are_host_only(dashboard: Dashboard) -> None:
    client = TestClient(dashboard.client.app, base_url="https://testserver")
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"email": dashboard.email, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookies = [*page.headers.get_list("set-cookie"), *r.headers.get_list("set-cookie")]
    names = {c.split("=", 1)[0] for c in cookies}
    assert names == {"__Host-hookline_csrf", "__Host-hookline_session"}
    for cookie in cookies:
        assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    assert client.get("/webhooks", follow_redirects=False).status_code == 200
    # a plain-named session cookie is not read over https: nobody else can set __Host-
    plain = TestClient(dashboard.client.app, base_url="https://testserver")
    plain.cookies.set("hookline_session", client.cookies["__Host-hookline_session"])
    assert plain.get("/webhooks", follow_redirects=False).status_code == 303
    r = client.post("/logout", data={"csrf_token": csrf_of(client.get("/webhooks").text)})
    deleted = r.history[0].headers.get_list("set-cookie") if r.history else []
    assert any(c.startswith("__Host-hookline_session=") and "Secure" in c for c in deleted)


def test_a_throttled_login_says_when_to_retry(dashboard: Dashboard, clock: FakeClock) -> None:
    c = dashboard.client
    c.cookies.clear()
    token = csrf_of(c.get("/login").text)
    form = {"email": dashboard.email, "password": "wrong password!", "csrf_token": token}
    for _ in range(users.THROTTLE_AFTER):
        assert c.post("/login", data=form).status_code == 401
    clock.advance(seconds=users.login_wait(users.THROTTLE_AFTER))
    assert c.post("/login", data=form).status_code == 401  # one more: the wait doubles
    clock.advance(seconds=0.5)
    r = c.post("/login", data={**form, "password": PASSWORD})
    assert r.status_code == 429
    assert users.login_wait(users.THROTTLE_AFTER + 1) == 2
    assert r.headers["Retry-After"] == "2"  # 1.5 s left, rounded up
    assert "2" in r.text


def test_a_login_form_another_origin_sent_is_refused(dashboard: Dashboard) -> None:
    """Login CSRF: the attacker's own pre-session pair, posted from a neighbouring origin.

    The pair is valid (anyone can fetch the login form), so what refuses it is the
    browser's word on where the form came from.
    """
    c = dashboard.client
    c.cookies.clear()
    form = {
        "email": dashboard.email,
        "password": PASSWORD,
        "csrf_token": csrf_of(c.get("/login").text),
    }
    r = c.post("/login", data=form, headers={"Sec-Fetch-Site": "same-site"}, follow_redirects=False)
    assert r.status_code == 403 and "session" not in r.headers.get("set-cookie", "")
    r = c.post(
        "/login", data=form, headers={"Sec-Fetch-Site": "same-origin"}, follow_redirects=False
    )
    assert r.status_code == 303
