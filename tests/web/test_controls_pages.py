"""Delivery controls on the dashboard: the create form's fields, the details page, both
languages; header values never appear on a page once saved (issue 16)."""

from __future__ import annotations

import json

from hookline.services import webhooks
from hookline.services.context import Context
from tests.support.receiver import Receiver
from tests.web.conftest import Dashboard, csrf_of

ZH = {"Accept-Language": "zh-TW"}
PNP = "pnp.status_updated"


def form(receiver: Receiver, **controls: str) -> dict[str, object]:
    return {"name": "Gateway", "url": receiver.url(), "topics": [PNP], **controls}


def test_the_create_form_saves_the_controls_and_the_details_page_masks_values(
    dashboard: Dashboard, ctx: Context, receiver: Receiver
) -> None:
    page = dashboard.client.get("/webhooks/new").text
    assert 'id="delivery-controls"' in page and 'name="timeout_seconds"' in page
    flt = json.dumps({"data.status": ["pnp_delivered", "sms_delivered"]})
    r = dashboard.post(
        "/webhooks/new",
        form(
            receiver,
            headers="X-Api-Key: k_live_page\nX-Tenant: t1\n",
            timeout_seconds="9",
            retry_policy="maac",
            filter=flt,
        ),
    )
    assert r.status_code == 303, r.text
    hook_id = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    saved = webhooks.get_webhook(ctx, dashboard.platform_id, hook_id)
    assert saved.header_names == ("X-Api-Key", "X-Tenant") and saved.timeout_seconds == 9
    assert saved.event_filter == {"data.status": ("pnp_delivered", "sms_delivered")}
    details = dashboard.client.get(f"/webhooks/{hook_id}").text
    assert "X-Api-Key: ********" in details and "k_live_page" not in details
    assert "9 s" in details and "3 retries within 7 seconds" in details
    assert "0 events filtered out" in details
    zh = dashboard.client.get(f"/webhooks/{hook_id}", headers=ZH).text
    assert "額外標頭" in zh and "9 秒" in zh and "已篩除 0 個事件" in zh


def test_blank_fields_mean_the_platform_defaults(
    dashboard: Dashboard, ctx: Context, receiver: Receiver
) -> None:
    r = dashboard.post("/webhooks/new", form(receiver, headers="", timeout_seconds="", filter=""))
    assert r.status_code == 303, r.text
    hook_id = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    saved = webhooks.get_webhook(ctx, dashboard.platform_id, hook_id)
    assert saved.header_names == () and saved.timeout_seconds is None
    assert saved.retry_policy is None and saved.event_filter is None
    details = dashboard.client.get(f"/webhooks/{hook_id}").text
    assert "Platform default" in details


def test_bad_controls_are_shown_beside_their_field_in_the_page_language(
    dashboard: Dashboard, ctx: Context, receiver: Receiver
) -> None:
    cases = [
        ({"headers": "X-Api-Key k"}, "headers-error", "請每行寫一個標頭"),
        ({"headers": "Host: evil.example"}, "headers-error", "此標頭由系統設定"),
        ({"timeout_seconds": "31"}, "timeout-error", "此數值超出範圍"),
        ({"timeout_seconds": "ten"}, "timeout-error", "請輸入整數"),
        ({"rate_limit_per_second": "0"}, "rate-error", "此數值超出範圍"),
        ({"rate_limit_per_second": "1001"}, "rate-error", "此數值超出範圍"),
        ({"rate_limit_per_second": "5.5"}, "rate-error", "請輸入整數"),
        ({"retry_policy": "fast"}, "retry-error", "請從選項中選擇"),
        ({"filter": "{not json"}, "filter-error", "不是有效的 JSON"),
        ({"filter": '{"data.nope": 1}'}, "filter-error", "沒有這個欄位"),
    ]
    for controls, anchor, text in cases:
        token = csrf_of(dashboard.client.get("/webhooks/new").text)
        r = dashboard.client.post(
            "/webhooks/new", data={**form(receiver, **controls), "csrf_token": token}, headers=ZH
        )
        assert r.status_code == 422, (controls, r.text[:300])
        assert f'id="{anchor}">' in r.text and text in r.text, controls
        assert "must" not in r.text  # no English service message
    assert webhooks.list_webhooks(ctx, dashboard.platform_id).items == []


def test_the_edit_fields_show_a_saved_webhook_and_keep_its_masked_values(
    dashboard: Dashboard, ctx: Context, receiver: Receiver
) -> None:
    """What the edit page (web.controls_form.ControlsForm.of + the partial) relies on."""
    from hookline.domain.controls import MASK
    from hookline.services.controls import open_headers
    from hookline.store import webhooks as webhook_store
    from hookline.web.controls_form import ControlsForm

    flt = '{"data.status": ["pnp_failed"]}'
    r = dashboard.post(
        "/webhooks/new",
        form(receiver, headers="X-Api-Key: k_keep", timeout_seconds="4", filter=flt),
    )
    hook_id = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    saved = webhooks.get_webhook(ctx, dashboard.platform_id, hook_id)
    shown = ControlsForm.of(saved)
    assert shown.headers == f"X-Api-Key: {MASK}" and shown.timeout_seconds == "4"
    assert json.loads(shown.filter) == {"data.status": ["pnp_failed"]}
    shown.headers += "\nX-Tenant: t2"
    webhooks.update_webhook(ctx, dashboard.platform_id, hook_id, given=shown.given())
    with ctx.db.read() as conn:
        sealed = webhook_store.sealed_headers(conn, hook_id)
    assert open_headers(ctx, sealed) == {"X-Api-Key": "k_keep", "X-Tenant": "t2"}


def test_a_rate_limit_is_saved_from_the_form_and_shown_in_both_languages(
    dashboard: Dashboard, ctx: Context, receiver: Receiver
) -> None:
    from hookline.web.controls_form import ControlsForm

    page = dashboard.client.get("/webhooks/new").text
    assert 'name="rate_limit_per_second"' in page
    r = dashboard.post("/webhooks/new", form(receiver, rate_limit_per_second="25"))
    assert r.status_code == 303, r.text
    hook_id = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    saved = webhooks.get_webhook(ctx, dashboard.platform_id, hook_id)
    assert saved.rate_limit_per_second == 25
    assert ControlsForm.of(saved).rate_limit_per_second == "25"
    details = dashboard.client.get(f"/webhooks/{hook_id}").text
    assert 'id="fact-rate-limit">At most 25 requests a second' in details
    zh = dashboard.client.get(f"/webhooks/{hook_id}", headers=ZH).text
    assert "每秒最多 25 個請求" in zh and "速率上限" in zh
    blank = ControlsForm.of(saved)
    blank.rate_limit_per_second = " "
    webhooks.update_webhook(ctx, dashboard.platform_id, hook_id, given=blank.given())
    assert webhooks.get_webhook(ctx, dashboard.platform_id, hook_id).rate_limit_per_second is None
