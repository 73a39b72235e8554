"""The dashboard's summaries and delivery log, on both databases."""

from __future__ import annotations

from datetime import timedelta

from hookline.domain.deliveries import DeliveryState
from hookline.domain.ids import new_id
from hookline.services import deliveries, platforms, reports, webhooks
from hookline.services.context import Context
from hookline.store import ingest as store
from tests.conftest import FakeClock


def add_delivery(
    ctx: Context,
    platform_id: str,
    webhook_id: str,
    *,
    created_ago: timedelta,
    ended_ago: timedelta | None,
    state: DeliveryState,
) -> None:
    now = ctx.clock()
    event_id, delivery_id = new_id("evt"), new_id("dlv")
    row = store.delivery_row(
        delivery_id=delivery_id,
        event_id=event_id,
        webhook_id=webhook_id,
        platform_id=platform_id,
        topic="prize.points_added",
        idempotency_key=delivery_id[-32:].rjust(32, "0"),
        now=now - created_ago,
    )
    row.update(state=state.value, completed_at=None if ended_ago is None else now - ended_ago)
    with ctx.db.write() as conn:
        store.insert_events(
            conn,
            [
                store.event_row(
                    event_id=event_id,
                    platform_id=platform_id,
                    topic="prize.points_added",
                    body=b"{}",
                    occurred_at=now - created_ago,
                    received_at=now - created_ago,
                )
            ],
        )
        store.insert_deliveries(conn, [row])


def test_hourly_outcomes_bucket_by_the_hour_a_delivery_ended(
    ctx: Context, clock: FakeClock
) -> None:
    clock.now = clock.now.replace(minute=30)
    pid = platforms.create_platform(ctx, "Coffee").platform.id
    platforms.set_zone(ctx, pid, 1, clock.now + timedelta(days=30))
    hook = webhooks.create_webhook(
        ctx, pid, name="h", url="https://example.com/h", topics=["prize.points_added"]
    )
    h = timedelta(hours=1)

    def add(created: timedelta, ended: timedelta | None, state: DeliveryState) -> None:
        add_delivery(ctx, pid, hook.id, created_ago=created, ended_ago=ended, state=state)

    add(h * 0, timedelta(minutes=10), DeliveryState.DELIVERED)  # this hour
    add(h * 0, timedelta(minutes=20), DeliveryState.FAILED)  # this hour
    add(h * 3, h * 2, DeliveryState.DELIVERED)  # ended two hours ago, after retries
    add(h * 30, h * 5, DeliveryState.FAILED)  # created yesterday, failed for good 5 h ago
    add(h * 30, h * 25, DeliveryState.DELIVERED)  # ended before the window
    add(h * 2, None, DeliveryState.PENDING)  # not ended: not drawn
    add(h * 1, h * 1, DeliveryState.CANCELLED)  # neither delivered nor failed
    buckets = reports.hourly_outcomes(ctx, pid, hook.id)
    assert len(buckets) == 24
    assert buckets[-1].start == clock.now.replace(minute=0)
    assert (buckets[-1].delivered, buckets[-1].failed) == (1, 1)
    assert (buckets[-3].delivered, buckets[-3].failed) == (1, 0)
    assert (buckets[-6].delivered, buckets[-6].failed) == (0, 1)
    assert sum(b.delivered + b.failed for b in buckets) == 4


def test_last_results_are_the_newest_delivery_of_each_webhook(
    ctx: Context, clock: FakeClock
) -> None:
    pid = platforms.create_platform(ctx, "Coffee").platform.id
    platforms.set_zone(ctx, pid, 1, clock.now + timedelta(days=30))
    one = webhooks.create_webhook(
        ctx, pid, name="a", url="https://example.com/a", topics=["prize.points_added"]
    )
    two = webhooks.create_webhook(
        ctx, pid, name="b", url="https://example.com/b", topics=["prize.points_added"]
    )
    add_delivery(
        ctx,
        pid,
        one.id,
        created_ago=timedelta(hours=2),
        ended_ago=timedelta(hours=2),
        state=DeliveryState.FAILED,
    )
    add_delivery(
        ctx,
        pid,
        one.id,
        created_ago=timedelta(hours=1),
        ended_ago=timedelta(hours=1),
        state=DeliveryState.DELIVERED,
    )
    results = reports.last_results(ctx, pid, [one.id, two.id])
    assert set(results) == {one.id}
    assert results[one.id].state is DeliveryState.DELIVERED
    other = platforms.create_platform(ctx, "Tea").platform.id
    assert reports.last_results(ctx, other, [one.id]) == {}  # never another platform's


def test_the_delivery_log_pages_newest_first_by_creation_time(
    ctx: Context, clock: FakeClock
) -> None:
    """Ids and creation times may disagree (a delivery written late); the log follows time,
    and paging with a cursor neither repeats nor skips, ties included."""
    pid = platforms.create_platform(ctx, "Coffee").platform.id
    platforms.set_zone(ctx, pid, 1, clock.now + timedelta(days=30))
    hook = webhooks.create_webhook(
        ctx, pid, name="h", url="https://example.com/h", topics=["prize.points_added"]
    )
    ages = [3, 1, 2, 2, 0, 2]  # hours ago, written in this order (ids ascending)
    for age in ages:
        add_delivery(
            ctx,
            pid,
            hook.id,
            created_ago=timedelta(hours=age),
            ended_ago=None,
            state=DeliveryState.PENDING,
        )
    seen = []
    cursor = None
    while True:
        page, cursor = deliveries.list_deliveries(ctx, pid, hook.id, cursor=cursor, limit=2)
        seen.extend(page)
        if cursor is None:
            break
    assert len(seen) == len(ages) and len({d.id for d in seen}) == len(ages)
    keys = [(d.created_at, d.id) for d in seen]
    assert keys == sorted(keys, reverse=True)
