"""One app, two faces: each answers the same domain error in its own way.

The dashboard's routes handle their errors themselves (``hookline.web.routing``); the
API's app-wide handlers answer everything else as problem+json. Neither face passes
anything to the other through the request.
"""

from __future__ import annotations

from hookline.services import platforms
from hookline.services.context import Context
from tests.web.conftest import Dashboard


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
