"""Delivery controls in the engine, both backends, loopback receivers (issue 16).

Extra headers and the timeout reach the wire, the webhook's retry policy beats the
platform's, a 429/503 ``Retry-After`` holds the whole webhook (its other deliveries
and new ones), and a filter keeps events from becoming deliveries, counted.
"""

from __future__ import annotations

import email.utils
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hookline.catalog import TOPICS
from hookline.dispatch.worker import Worker
from hookline.domain.controls import MASK
from hookline.domain.retry import RetryPolicy
from hookline.services import deliveries as delivery_service
from hookline.services import platforms, webhooks
from hookline.services.context import Context
from hookline.services.ingest import IncomingEvent, ingest
from tests.conftest import FakeClock
from tests.support.engine import TOPIC, make_worker
from tests.support.receiver import Answer, Receiver

PNP = "pnp.status_updated"


@pytest.fixture
async def worker(ctx: Context) -> AsyncIterator[Worker]:
    w = make_worker(ctx)
    yield w
    await w.sender.close()


def hook_with(ctx: Context, url: str, topics: list[str] | None = None, **given: Any) -> Any:
    created = platforms.create_platform(ctx, "Coffee", timezone="Asia/Taipei")
    pid = created.platform.id
    platforms.set_zone(ctx, pid, 1, ctx.clock() + timedelta(days=365))
    hook = webhooks.create_webhook(
        ctx, pid, name="controlled", url=url, topics=topics or [TOPIC], given=given
    )
    return pid, hook


def rows(ctx: Context, webhook_id: str) -> list[Any]:
    from sqlalchemy import select

    from hookline.store.tables import deliveries

    with ctx.db.read() as conn:
        q = select(deliveries).where(deliveries.c.webhook_id == webhook_id)
        return list(conn.execute(q.order_by(deliveries.c.created_at, deliveries.c.id)).all())


def publish(ctx: Context, pid: str, topic: str = TOPIC, data: Any = None) -> Any:
    (result,) = ingest(
        ctx, [IncomingEvent(platform_id=pid, topic=topic, data=data or TOPICS[topic].sample)]
    )
    return result


async def test_extra_headers_go_with_every_attempt_and_ours_stay(
    ctx: Context, receiver: Receiver, worker: Worker
) -> None:
    pid, hook = hook_with(ctx, receiver.url(), headers={"X-Api-Key": "k_live_1", "X-B": "b c"})
    publish(ctx, pid)
    await worker.run_until_idle()
    (got,) = receiver.received()
    assert got.headers["X-Api-Key"] == "k_live_1"
    assert got.headers["X-B"] == "b c" and got.headers["User-Agent"].startswith("hookline/")
    assert len(got.headers["CrescLab-Signature"]) == 64 and got.headers["webhook-id"]
    (row,) = rows(ctx, hook.id)
    assert row.state == "delivered"


async def test_a_test_send_and_a_resend_show_the_headers_masked(
    ctx: Context, receiver: Receiver, worker: Worker
) -> None:
    pid, hook = hook_with(ctx, receiver.url(), headers={"X-Api-Key": "k_live_2"})
    sent = await delivery_service.send_test(ctx, receiver_send(worker), pid, hook.id, TOPIC)
    assert sent.request_headers["X-Api-Key"] == MASK
    assert receiver.received()[-1].headers["X-Api-Key"] == "k_live_2"
    publish(ctx, pid)
    await worker.run_until_idle()
    delivery = rows(ctx, hook.id)[-1]
    again = await delivery_service.resend(ctx, receiver_send(worker), pid, delivery.id)
    assert again.request_headers["X-Api-Key"] == MASK
    assert [r.headers["X-Api-Key"] for r in receiver.received()] == ["k_live_2"] * 3


def receiver_send(worker: Worker) -> Any:
    return worker.sender.send


async def test_the_webhooks_timeout_is_the_attempts_limit(
    ctx: Context, receiver: Receiver, worker: Worker
) -> None:
    receiver.hold_paths = {"/slow"}
    pid, hook = hook_with(ctx, receiver.url("/slow"), timeout_seconds=1)
    publish(ctx, pid)
    try:
        await worker.run_until_idle()  # the sender's own limit is 5 s
    finally:
        receiver.release_held()
    (row,) = rows(ctx, hook.id)
    assert row.state == "pending" and row.last_error == "timeout"
    from tests.support.engine import Setup

    (attempt,) = Setup(ctx, pid, [hook.id]).attempts(row.id)
    assert "1s" in (attempt.error_detail or "") and attempt.latency_ms < 4000


async def test_the_webhooks_retry_policy_beats_the_platforms(
    ctx: Context, receiver: Receiver, worker: Worker, clock: FakeClock
) -> None:
    receiver.policy = lambda _r: Answer(status=500)
    pid, hook = hook_with(ctx, receiver.url(), retry_policy="maac")
    assert platforms.get_platform(ctx, pid).retry_policy is RetryPolicy.EXTENDED
    publish(ctx, pid)
    for _ in range(6):
        await worker.run_until_idle()
        clock.advance(seconds=5)
    (row,) = rows(ctx, hook.id)
    assert row.state == "failed" and row.attempts == 4


async def test_retry_after_holds_every_delivery_of_the_webhook(
    ctx: Context, receiver: Receiver, clock: FakeClock
) -> None:
    worker = make_worker(ctx, concurrency=1)
    try:
        wait = Answer(status=429, headers=(("Retry-After", "120"),))
        receiver.policy = lambda r: wait if r.path == "/a" else Answer()
        pid, hook = hook_with(ctx, receiver.url("/a"))
        other = webhooks.create_webhook(
            ctx, pid, name="other", url=receiver.url("/b"), topics=[TOPIC]
        )
        publish(ctx, pid)
        publish(ctx, pid)
        await worker.run_until_idle()
        until = clock.now + timedelta(seconds=120)
        assert len(receiver.received("/a")) == 1  # the second waited: the webhook is paused
        assert [r.next_attempt_at for r in rows(ctx, hook.id)] == [until, until]
        assert webhooks.get_webhook(ctx, pid, hook.id).paused_until == until
        receiver.policy = lambda _r: Answer()
        publish(ctx, pid)  # a new event: due when the pause ends, for this webhook only
        await worker.run_until_idle()
        assert len(receiver.received("/a")) == 1 and len(receiver.received("/b")) == 3
        assert rows(ctx, hook.id)[-1].next_attempt_at == until
        assert {r.state for r in rows(ctx, other.id)} == {"delivered"}
        clock.advance(seconds=120)
        await worker.run_until_idle()
        assert len(receiver.received("/a")) == 4
        assert {r.state for r in rows(ctx, hook.id)} == {"delivered"}
    finally:
        await worker.sender.close()


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [("99999", 3600, 3600), ("http-date", 590, 600), ("0", None, None), ("soon", None, None)],
)
async def test_retry_after_as_a_date_and_its_cap(
    ctx: Context,
    receiver: Receiver,
    worker: Worker,
    clock: FakeClock,
    retry_after: str,
    low: int | None,
    high: int | None,
) -> None:
    if retry_after == "http-date":  # the sender reads it against the real clock
        retry_after = email.utils.format_datetime(
            datetime.now(UTC) + timedelta(seconds=600), usegmt=True
        )
    receiver.policy = lambda _r: Answer(status=503, headers=(("Retry-After", retry_after),))
    pid, hook = hook_with(ctx, receiver.url())
    publish(ctx, pid)
    await worker.run_until_idle()
    paused = webhooks.get_webhook(ctx, pid, hook.id).paused_until
    if low is None:
        assert paused is None  # nothing to honour: the retry schedule alone
    else:
        assert paused is not None and high is not None
        assert low <= (paused - clock.now).total_seconds() <= high


async def test_a_filter_keeps_events_out_and_counts_them(
    ctx: Context, receiver: Receiver, worker: Worker
) -> None:
    flt = {"data.status": ["pnp_delivered", "sms_delivered"]}
    pid, hook = hook_with(ctx, receiver.url(), topics=[PNP], filter=flt)
    plain = webhooks.create_webhook(ctx, pid, name="all", url=receiver.url("/all"), topics=[PNP])
    sample = dict(TOPICS[PNP].sample)
    kept = publish(ctx, pid, PNP, {**sample, "status": "sms_delivered"})
    dropped = publish(ctx, pid, PNP, {**sample, "status": "pnp_failed"})
    assert (kept.deliveries, dropped.deliveries) == (2, 1)
    await worker.run_until_idle()
    assert len(receiver.received("/hook")) == 1 and len(receiver.received("/all")) == 2
    assert b"sms_delivered" in receiver.received("/hook")[0].body
    assert len(rows(ctx, hook.id)) == 1
    assert webhooks.get_webhook(ctx, pid, hook.id).filtered_events == 1
    assert webhooks.get_webhook(ctx, pid, plain.id).filtered_events == 0


def test_a_key_rotation_reseals_the_extra_headers(ctx: Context, receiver: Receiver) -> None:
    from sqlalchemy import select

    from hookline.domain.secrets import SecretBox
    from hookline.services.keys import check_key, rotate_key
    from hookline.store.tables import webhooks as webhook_rows

    _pid, hook = hook_with(ctx, receiver.url(), headers={"X-Api-Key": "k_rot"})
    hook_with(ctx, receiver.url())  # no headers: nothing sealed, nothing to rotate
    new = SecretBox("a-new-secret-key")
    rotate_key(ctx.db, ctx.box, new)
    with ctx.db.read() as conn:
        sealed = conn.execute(
            select(webhook_rows.c.headers_sealed).where(webhook_rows.c.id == hook.id)
        ).scalar_one()
    assert new.decrypt(sealed) == '{"X-Api-Key": "k_rot"}'
    check_key(ctx.db, new, "the new key")  # the start-up sample opens with it
