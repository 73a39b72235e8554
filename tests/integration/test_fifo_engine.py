"""FIFO webhooks in the engine, both backends, loopback receiver (issue 16 §1).

One delivery at a time, in ingest order (a batch in its own order); a retrying
delivery holds the ones behind it until it is delivered or has failed for good.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hookline.catalog import TOPICS
from hookline.services import platforms, webhooks
from hookline.services.context import Context
from hookline.services.ingest import IncomingEvent, ingest
from hookline.store.tables import deliveries
from tests.conftest import FakeClock
from tests.support.engine import TOPIC, make_worker
from tests.support.receiver import Answer, Received, Receiver

SAMPLE: dict[str, Any] = dict(TOPICS[TOPIC].sample)


def fifo_hook(ctx: Context, url: str, ordering: str = "fifo") -> tuple[str, str]:
    pid = platforms.create_platform(ctx, "Coffee", timezone="Asia/Taipei").platform.id
    platforms.set_zone(ctx, pid, 1, ctx.clock() + timedelta(days=365))
    hook = webhooks.create_webhook(
        ctx, pid, name="ordered", url=url, topics=[TOPIC], given={"ordering": ordering}
    )
    return pid, hook.id


def publish(ctx: Context, pid: str, numbers: range) -> None:
    items = [
        IncomingEvent(platform_id=pid, topic=TOPIC, data={**SAMPLE, "number": f"AB{n:08d}"})
        for n in numbers
    ]
    assert all(not isinstance(r, Exception) for r in ingest(ctx, items))


def number_of(r: Received) -> int:
    return int(json.loads(r.body)["data"]["number"][2:])


def states(ctx: Context, webhook_id: str) -> list[tuple[str, Any]]:
    with ctx.db.read() as conn:
        q = select(deliveries.c.state, deliveries.c.next_attempt_at).where(
            deliveries.c.webhook_id == webhook_id
        )
        return [
            tuple(r) for r in conn.execute(q.order_by(deliveries.c.created_at, deliveries.c.id))
        ]


async def test_a_batch_goes_one_at_a_time_in_its_order(ctx: Context, receiver: Receiver) -> None:
    worker = make_worker(ctx, concurrency=20)
    try:
        pid, hook = fifo_hook(ctx, receiver.url())
        publish(ctx, pid, range(30))
        publish(ctx, pid, range(30, 40))
        await worker.run_until_idle()
    finally:
        await worker.sender.close()
    assert [number_of(r) for r in receiver.received()] == list(range(40))
    assert {s for s, _ in states(ctx, hook)} == {"delivered"}


async def test_a_retrying_delivery_holds_the_ones_behind_it(
    ctx: Context, receiver: Receiver, clock: FakeClock
) -> None:
    tried: set[int] = set()

    def first_try_of_2_fails(r: Received) -> Answer:
        n = number_of(r)
        if n == 2 and n not in tried:
            tried.add(n)
            return Answer(status=503)
        return Answer()

    receiver.policy = first_try_of_2_fails
    worker = make_worker(ctx, concurrency=20)
    try:
        pid, hook = fifo_hook(ctx, receiver.url())
        publish(ctx, pid, range(6))
        await worker.run_until_idle()
        assert [number_of(r) for r in receiver.received()] == [0, 1, 2]
        held = states(ctx, hook)
        assert held[2] == ("pending", clock.now + timedelta(seconds=1))
        assert held[3:] == [("pending", None)] * 3  # waiting their turn: no due time
        clock.advance(seconds=1)
        await worker.run_until_idle()
    finally:
        await worker.sender.close()
    assert [number_of(r) for r in receiver.received()] == [0, 1, 2, 2, 3, 4, 5]


async def test_one_that_failed_for_good_lets_the_next_go(ctx: Context, receiver: Receiver) -> None:
    receiver.policy = lambda r: Answer(status=400) if number_of(r) == 1 else Answer()
    worker = make_worker(ctx)
    try:
        pid, hook = fifo_hook(ctx, receiver.url())
        publish(ctx, pid, range(4))
        await worker.run_until_idle()
    finally:
        await worker.sender.close()
    assert [number_of(r) for r in receiver.received()] == [0, 1, 2, 3]
    assert [s for s, _ in states(ctx, hook)] == ["delivered", "failed", "delivered", "delivered"]


async def test_changing_the_ordering_moves_the_waiting_deliveries(
    ctx: Context, receiver: Receiver
) -> None:
    receiver.policy = lambda _r: Answer(status=503)
    worker = make_worker(ctx)
    try:
        pid, hook = fifo_hook(ctx, receiver.url())
        publish(ctx, pid, range(3))
        await worker.run_until_idle()
        assert len(receiver.received()) == 1
        webhooks.update_webhook(ctx, pid, hook, given={"ordering": "none"})
        assert [at is not None for _, at in states(ctx, hook)] == [True, True, True]
        await worker.run_until_idle()
        assert sorted(number_of(r) for r in receiver.received()) == [0, 1, 2]  # 1, 2 now due
        webhooks.update_webhook(ctx, pid, hook, given={"ordering": "fifo"})
        assert [at for _, at in states(ctx, hook)] == [None, None, None]
    finally:
        await worker.sender.close()
