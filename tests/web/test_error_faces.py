"""One app, two faces: each answers the same domain error in its own way.

The dashboard's routes handle their errors themselves (``hookline.web.routing``); the
API's app-wide handlers answer everything else as problem+json. Neither face passes
anything to the other through the request.
"""

from __future__ import annotations

from dataclasses import replace

from hookline.domain.secrets import SecretBox
from hookline.services import platforms, webhooks
from hookline.services.context import Context
from tests.web.conftest import Dashboard, csrf_of


def test_a_missing_webhook_is_a_page_on_the_dashboard_and_a_problem_on_the_api(
    dashboard: Dashboard, ctx: Context
) -> None:
    page = dashboard.client.get("/webhooks/wh_nope")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text

    _, token = platforms.create_token(ctx, dashboard.platform_id)
    api = dashboard.client.get("/v1/webhooks/wh_nope", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["code"].endswith("not_found")


def test_signed_out_pages_redirect_while_api_routes_answer_401(dashboard: Dashboard) -> None:
    dashboard.client.cookies.clear()
    page = dashboard.client.get("/webhooks", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/webhooks"
    api = dashboard.client.get("/v1/platform")
    assert api.status_code == 401
    assert api.headers["content-type"] == "application/problem+json"


def test_an_unreadable_secret_is_explained_on_the_dashboard(
    dashboard: Dashboard, ctx: Context
) -> None:
    """Sealed with a key this server no longer has: a translated 503 page, not a bare 500."""
    elsewhere = replace(ctx, box=SecretBox("a key this server does not have"))
    hook = webhooks.create_webhook(
        elsewhere,
        dashboard.platform_id,
        name="Shop",
        url="http://127.0.0.1:9/hook",
        topics=["prize.points_added"],
    )
    page = f"/webhooks/{hook.id}"
    r = dashboard.post(f"{page}/secret/uncover", page=page)
    assert r.status_code == 503
    assert "secret key changed or was lost" in r.text and "rotate-key" in r.text
    r = dashboard.post(f"{page}/test", {"topic": "prize.points_added"}, page=page)
    assert r.status_code == 503 and "rotate-key" in r.text
    token = csrf_of(dashboard.client.get(page).text)
    r = dashboard.client.post(
        f"{page}/secret/uncover", data={"csrf_token": token}, headers={"Accept-Language": "zh-TW"}
    )
    assert r.status_code == 503 and "加密金鑰已變更或遺失" in r.text
