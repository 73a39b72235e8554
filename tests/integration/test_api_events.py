"""The platform-wide event log: filters, search, outcome, paging, isolation."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from hookline.catalog import TOPICS
from hookline.services.context import Context
from tests.conftest import FakeClock
from tests.integration.conftest import OP, PRODUCER, PlatformHandle
from tests.integration.test_api_deliveries import TOPIC, deliver_all, hook_at, publish
from tests.support.receiver import Receiver, answering

OTHER_TOPIC = "message.first_open"


def events(client: TestClient, platform: PlatformHandle, **params: Any) -> Any:
    r = client.get("/v1/events", params=params, headers=platform.headers)
    assert r.status_code == 200, r.text
    return r.json()


def ids(page: Any) -> list[str]:
    return [e["id"] for e in page["data"]]


def test_every_event_with_its_deliveries_and_outcome(
    client: TestClient,
    platform: PlatformHandle,
    receiver: Receiver,
    ctx: Context,
    clock: FakeClock,
) -> None:
    hook = hook_at(client, platform, receiver.url())
    (ok,) = publish(client, platform)
    deliver_all(ctx)
    receiver.policy = answering(500)
    clock.advance(seconds=1)
    (retrying,) = publish(client, platform)
    deliver_all(ctx)
    clock.advance(seconds=1)
    event = {"platform_id": platform.id, "topic": OTHER_TOPIC, "data": TOPICS[OTHER_TOPIC].sample}
    r = client.post("/internal/v1/events", json=event, headers=PRODUCER)
    unrouted = r.json()["event_id"]

    page = events(client, platform)
    assert ids(page) == [unrouted, retrying, ok]  # newest first
    by_id = {e["id"]: e for e in page["data"]}
    assert by_id[ok]["outcome"] == "delivered" and by_id[retrying]["outcome"] == "pending"
    assert by_id[unrouted]["outcome"] == "unrouted" and by_id[unrouted]["deliveries"] == []
    assert [d["webhook_id"] for d in by_id[ok]["deliveries"]] == [hook]
    assert ids(events(client, platform, outcome="pending")) == [retrying]
    assert ids(events(client, platform, outcome="delivered")) == [ok]
    assert ids(events(client, platform, outcome="failed")) == []
    assert ids(events(client, platform, topic=OTHER_TOPIC)) == [unrouted]


def test_search_by_event_id_producer_id_and_idempotency_key(
    client: TestClient, platform: PlatformHandle, receiver: Receiver, ctx: Context
) -> None:
    hook_at(client, platform, receiver.url())
    body = {"platform_id": platform.id, "topic": TOPIC, "data": TOPICS[TOPIC].sample}
    r = client.post("/internal/v1/events", json={**body, "id": "order-1234"}, headers=PRODUCER)
    assert r.status_code == 202, r.text
    mine = r.json()["event_id"]
    publish(client, platform, 2)
    key = events(client, platform, q=mine)["data"][0]["deliveries"][0]["idempotency_key"]
    assert ids(events(client, platform, q=mine)) == [mine]
    assert ids(events(client, platform, q="order-1234")) == [mine]
    assert ids(events(client, platform, q=f"  {key} ")) == [mine]
    assert ids(events(client, platform, q="nothing-like-it")) == []


def test_date_range_and_cursor_paging(
    client: TestClient, platform: PlatformHandle, clock: FakeClock
) -> None:
    first = publish(client, platform, 3)
    clock.advance(days=2)
    later = publish(client, platform, 2)
    since = clock.now.date().isoformat()
    assert set(ids(events(client, platform, since=since))) == set(later)
    assert set(ids(events(client, platform, until=since))) == set(first)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = events(client, platform, **params)
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(first + later) and len(seen) == 5


def test_bad_filters_are_refused_by_field(client: TestClient, platform: PlatformHandle) -> None:
    for params, field in (
        ({"outcome": "lost"}, "outcome"),
        ({"topic": "no.such"}, "topic"),
        ({"q": "a\x00b"}, "q"),
        ({"q": "x" * 300}, "q"),
        ({"since": "2026-01-01T00:00:00"}, "since"),
        ({"cursor": "bogus"}, "cursor"),
        ({"limit": 0}, "limit"),
    ):
        r = client.get("/v1/events", params=params, headers=platform.headers)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["errors"][0]["field"] == field, (params, r.text)


def test_another_platforms_events_are_never_listed(
    client: TestClient, platform: PlatformHandle, make_platform: Any, receiver: Receiver
) -> None:
    hook_at(client, platform, receiver.url())
    theirs = publish(client, platform, 2)
    other = make_platform()
    assert events(client, other)["data"] == []
    assert events(client, other, q=theirs[0])["data"] == []
    cursor = events(client, platform, limit=1)["next_cursor"]  # names the first's event
    assert cursor is not None
    assert events(client, other, cursor=cursor)["data"] == []
    assert client.get("/v1/events", headers={}).status_code == 401


def test_hostile_text_in_every_new_query_field_is_422_naming_it(
    client: TestClient, platform: PlatformHandle, receiver: Receiver
) -> None:
    """Control and bidi characters in a search, an action or a window (issue 11's rules)."""
    hook = hook_at(client, platform, receiver.url())
    for bad in ("a\x00b", "a\x1bb", "a\x7fb", "a\x85b", "a\u202eb"):
        for path, field, headers in (
            ("/v1/events", "q", platform.headers),
            ("/v1/audit", "action", platform.headers),
            ("/v1/audit", "platform_id", OP),
            (f"/v1/webhooks/{hook}/stats", "window", platform.headers),
        ):
            r = client.get(path, params={field: bad}, headers=headers)
            assert r.status_code == 422, (path, field, bad, r.text)
            assert r.json()["errors"][0]["field"] == field
