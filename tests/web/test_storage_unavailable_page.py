"""A database that refuses writes is a translated 503 page on the dashboard (both backends)."""

from __future__ import annotations

from hookline.services.context import Context
from tests.support.db_faults import refusing_writes
from tests.web.conftest import Dashboard, csrf_of


def test_a_write_the_database_refuses_is_a_translated_503_page(
    dashboard: Dashboard, ctx: Context
) -> None:
    form = {
        "csrf_token": csrf_of(dashboard.client.get("/webhooks/new").text),
        "name": "CRM",
        "url": "https://crm.example.com/hooks",
        "topics": ["receipt.receipt_validated"],
    }
    with refusing_writes(ctx.db):
        r = dashboard.client.post(
            "/webhooks/new", data=form, headers={"Accept-Language": "zh-TW"}, follow_redirects=False
        )
    assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0
    assert r.headers["content-type"].startswith("text/html")
    assert "資料庫目前無法寫入" in r.text
    assert "readonly" not in r.text.lower() and "read-only transaction" not in r.text
