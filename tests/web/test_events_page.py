"""The Events page: the platform's events with their deliveries, filters, isolation."""

from __future__ import annotations

from hookline.catalog import TOPICS
from hookline.services import ingest
from hookline.services.context import Context
from tests.conftest import FakeClock
from tests.integration.test_api_deliveries import deliver_all
from tests.support.receiver import Answer, Receiver
from tests.web.conftest import Dashboard, english_ui_words, make_platform
from tests.web.test_marketer_pages import ZH, create

TOPIC = "prize.points_added"


def publish(ctx: Context, platform_id: str, producer_id: str | None = None) -> str:
    item = ingest.IncomingEvent(platform_id, TOPIC, TOPICS[TOPIC].sample, producer_id)
    return ingest.ingest_one(ctx, item).event_id


def test_events_list_each_delivery_filter_and_search(
    dashboard: Dashboard, receiver: Receiver, ctx: Context
) -> None:
    webhook_id = create(dashboard, receiver.url(), name="Shop CRM")
    delivered = publish(ctx, dashboard.platform_id, "order-77")
    deliver_all(ctx)
    receiver.policy = lambda _r: Answer(status=500)
    retrying = publish(ctx, dashboard.platform_id)
    deliver_all(ctx)
    html = dashboard.client.get("/events").text
    assert f'data-event="{delivered}" data-outcome="delivered"' in html
    assert f'data-event="{retrying}" data-outcome="pending"' in html
    assert "Shop CRM" in html and f'href="/webhooks/{webhook_id}/deliveries/' in html
    assert 'href="/events"' in dashboard.client.get("/webhooks").text  # in the navigation

    found = dashboard.client.get("/events", params={"q": "order-77"}).text
    assert f'data-event="{delivered}"' in found and f'data-event="{retrying}"' not in found
    pending = dashboard.client.get("/events", params={"outcome": "pending"}).text
    assert f'data-event="{retrying}"' in pending and f'data-event="{delivered}"' not in pending


def test_a_bad_filter_is_explained_not_a_crash(dashboard: Dashboard) -> None:
    for params in ({"outcome": "lost"}, {"since": "yesterday"}, {"q": "a\x00"}):
        r = dashboard.client.get("/events", params=params)
        assert r.status_code == 200 and 'id="events-error"' in r.text, params


def test_events_in_chinese_hold_no_english(
    dashboard: Dashboard, receiver: Receiver, ctx: Context
) -> None:
    create(dashboard, receiver.url(), name="顧客系統")
    publish(ctx, dashboard.platform_id)
    deliver_all(ctx)
    html = dashboard.client.get("/events", headers=ZH).text
    assert "事件" in html and english_ui_words(html, receiver.url()) == set()


def test_another_platforms_events_are_not_shown(
    dashboard: Dashboard, ctx: Context, clock: FakeClock
) -> None:
    other = make_platform(ctx, clock, name="Tea")
    theirs = publish(ctx, other, "their-order")
    html = dashboard.client.get("/events").text
    assert theirs not in html and 'id="events-empty"' in html
    searched = dashboard.client.get("/events", params={"q": theirs}).text
    assert f'data-event="{theirs}"' not in searched and 'id="events-empty"' in searched
