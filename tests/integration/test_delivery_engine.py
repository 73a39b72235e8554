"""The delivery engine end to end on both backends: ingest, worker, sender, receiver.

Every HTTP request goes to a real receiver on loopback. Time-dependent rules (retry
schedule, leases, failing for days) run on the fake clock; the worker's burst mode
(``run_until_idle``) makes each step deterministic.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from hookline.dispatch.worker import Worker
from hookline.domain.models import StopReason, WebhookStatus
from hookline.domain.retry import RetryPolicy
from hookline.domain.secrets import SecretBox
from hookline.services import webhooks
from hookline.services.context import Context
from hookline.services.platforms import set_zone, update_platform
from hookline.store import claims
from hookline.store.tables import deliveries
from tests.conftest import FakeClock
from tests.support.engine import ACTOR, SAMPLE, TOPIC, make_setup, make_worker
from tests.support.receiver import Answer, Receiver, answering


@pytest.fixture
async def worker(ctx: Context) -> AsyncIterator[Worker]:
    w = make_worker(ctx)
    yield w
    await w.sender.close()


async def test_body_and_signatures_match_the_spec(
    ctx: Context, receiver: Receiver, worker: Worker, clock: FakeClock
) -> None:
    setup = make_setup(ctx, [receiver.url()], timezone="Asia/Taipei")
    data = {**SAMPLE, "campaign_name": '冬季發票 "登錄" / 抽獎'}
    setup.publish(data)
    await worker.run_until_idle()

    (request,) = receiver.received()
    # The body, computed independently from the spec's words.
    stamp = clock.now.astimezone(ZoneInfo("Asia/Taipei")).strftime("%Y-%m-%dT%H:%M:%S.%f+08:00")
    expected = json.dumps({"timestamp": stamp, "topic": TOPIC, "data": data}).encode()
    assert request.body == expected
    assert b'"timestamp": "' in request.body and b"\\u51ac" in request.body
    secret = setup.secret()
    headers = request.headers
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    key = headers["CrescLab-Idempotency-Key"]
    assert len(key) == 32 and int(key, 16) >= 0 and key == key.lower()
    assert (
        headers["CrescLab-Signature"]
        == hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    )
    assert headers["webhook-id"] == key
    ts = headers["webhook-timestamp"]
    assert int(ts) == int(clock.now.timestamp())
    std_key = base64.b64decode(secret.removeprefix("whsec_"))
    std = base64.b64encode(
        hmac.new(std_key, f"{key}.{ts}.".encode() + request.body, hashlib.sha256).digest()
    ).decode()
    assert headers["webhook-signature"] == f"v1,{std}"
    assert headers["User-Agent"].startswith("hookline/")
    (row,) = setup.deliveries()
    assert row.state == "delivered" and row.attempts == 1 and row.idempotency_key == key


async def test_a_receiver_answering_a_nul_byte_does_not_hold_back_other_results(
    ctx: Context, receiver: Receiver, worker: Worker
) -> None:
    """PostgreSQL's text cannot hold NUL: the answer is kept with U+FFFD in its place,
    and the settle that carries it (and every other delivery's result) goes through."""
    setup = make_setup(ctx, [receiver.url("/nul"), receiver.url("/ok")])
    receiver.policy = lambda r: Answer(body="a\x00b" if r.path == "/nul" else "fine")
    setup.publish()
    await worker.run_until_idle()
    rows = setup.deliveries()
    assert [(r.state, r.attempts) for r in rows] == [("delivered", 1), ("delivered", 1)]
    bodies = sorted(a.response_body for r in rows for a in setup.attempts(r.id))
    assert bodies == ["a\ufffdb", "fine"]
    assert len(receiver.received()) == 2


async def test_every_attempt_sends_the_same_bytes_and_key(
    ctx: Context, receiver: Receiver, worker: Worker, clock: FakeClock
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    answers = iter([500, 502, 200])
    receiver.policy = lambda _r: Answer(status=next(answers))
    setup.publish()
    for _ in range(3):
        await worker.run_until_idle()
        clock.advance(seconds=10)
    first, second, third = receiver.received()
    assert first.body == second.body == third.body
    keys = {r.headers["CrescLab-Idempotency-Key"] for r in (first, second, third)}
    assert len(keys) == 1
    (row,) = setup.deliveries()
    assert row.state == "delivered" and row.attempts == 3


async def test_retry_schedule_maac_first_then_extended_with_jitter(
    ctx: Context, receiver: Receiver, worker: Worker, clock: FakeClock
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    receiver.policy = lambda _r: Answer(status=503)
    setup.publish()
    waits = []
    for _ in range(11):
        await worker.run_until_idle()
        (row,) = setup.deliveries()
        if row.next_attempt_at is None:
            break
        wait = (row.next_attempt_at - clock.now).total_seconds()
        waits.append(wait)
        clock.advance(seconds=wait)
    assert waits[:3] == [1.0, 2.0, 4.0]
    extended = [30, 300, 1800, 7200, 21600, 43200, 86400]
    assert len(waits) == 3 + len(extended)
    for got, nominal in zip(waits[3:], extended, strict=True):
        assert nominal * 0.8 <= got <= nominal * 1.2
    assert waits[3:] != extended  # jittered, not exact
    (row,) = setup.deliveries()
    assert row.state == "failed" and row.attempts == 11
    assert len(receiver.received()) == 11


async def test_maac_policy_stops_after_four_attempts(
    ctx: Context, receiver: Receiver, worker: Worker, clock: FakeClock
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    update_platform(ctx, setup.platform_id, retry_policy=RetryPolicy.MAAC)
    receiver.policy = lambda _r: Answer(status=500)
    setup.publish()
    for _ in range(6):
        await worker.run_until_idle()
        clock.advance(seconds=5)
    (row,) = setup.deliveries()
    assert row.state == "failed" and row.attempts == 4
    started = [a.started_at for a in setup.attempts(row.id)]
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(started)] == [5.0, 5.0, 5.0]


async def test_retry_after_is_honoured_on_429(
    ctx: Context, receiver: Receiver, worker: Worker, clock: FakeClock
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    receiver.policy = lambda _r: Answer(status=429, headers=(("Retry-After", "20"),))
    setup.publish()
    await worker.run_until_idle()
    (row,) = setup.deliveries()
    assert row.state == "pending"
    assert (row.next_attempt_at - clock.now).total_seconds() == 20.0


@pytest.mark.parametrize("status", [400, 401, 404, 422, 302])
async def test_other_4xx_and_3xx_fail_at_once(
    ctx: Context, receiver: Receiver, worker: Worker, status: int
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    receiver.policy = lambda _r: Answer(status=status, headers=(("Location", "/elsewhere"),))
    setup.publish()
    await worker.run_until_idle()
    (row,) = setup.deliveries()
    assert row.state == "failed" and row.attempts == 1 and row.last_status_code == status
    assert [r.path for r in receiver.received()] == ["/hook"]  # no redirect followed
    (attempt,) = setup.attempts(row.id)
    assert attempt.error == "http_status" and attempt.response_body == "OK"


@pytest.mark.parametrize("status", [408, 429, 500, 503])
async def test_408_429_and_5xx_are_retried(
    ctx: Context, receiver: Receiver, worker: Worker, status: int
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    receiver.policy = lambda _r: Answer(status=status)
    setup.publish()
    await worker.run_until_idle()
    (row,) = setup.deliveries()
    assert row.state == "pending" and row.attempts == 1


async def test_a_secret_the_key_cannot_open_fails_the_delivery_unsent(
    ctx: Context, receiver: Receiver
) -> None:
    """Once: no attempt, in flight for ever, re-claimed every lease. Now one visible failure."""
    setup = make_setup(ctx, [receiver.url()])
    setup.publish()
    worker = make_worker(replace(ctx, box=SecretBox("a key that did not seal the secret")))
    try:
        await worker.run_until_idle()
    finally:
        await worker.sender.close()
    (row,) = setup.deliveries()
    assert (row.state, row.attempts, row.last_error) == ("failed", 1, "secret_unreadable")
    (attempt,) = setup.attempts(row.id)
    assert attempt.error == "secret_unreadable" and attempt.status_code is None
    assert "rotate-key" in attempt.error_detail
    assert receiver.requests == []  # nothing unsigned or wrongly signed went out


async def test_connection_refused_is_retried(
    ctx: Context, worker: Worker, unused_tcp_port: int
) -> None:
    setup = make_setup(ctx, [f"http://127.0.0.1:{unused_tcp_port}/hook"])
    setup.publish()
    await worker.run_until_idle()
    (row,) = setup.deliveries()
    assert row.state == "pending" and row.last_error == "connect_error"


async def test_a_tls_failure_is_recorded_and_fails_the_delivery(
    ctx: Context, worker: Worker, receiver: Receiver
) -> None:
    # https to the receiver's plain-HTTP port: once left in flight with no attempt, for ever
    setup = make_setup(ctx, [receiver.url().replace("http://", "https://", 1)])
    setup.publish()
    await worker.run_until_idle()
    (row,) = setup.deliveries()
    assert (row.state, row.attempts, row.last_error) == ("failed", 1, "tls_error")
    (attempt,) = setup.attempts(row.id)
    assert attempt.error_detail.startswith(f"TLS error with 127.0.0.1:{receiver.port}: ")


async def test_410_stops_the_webhook_and_cancels_its_pending(
    ctx: Context, receiver: Receiver, clock: FakeClock
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    receiver.policy = lambda _r: Answer(status=410)
    for _ in range(3):
        setup.publish()
    worker = make_worker(ctx, per_webhook_cap=1)
    try:
        await worker.run_until_idle()
    finally:
        await worker.sender.close()
    assert len(receiver.received()) == 1
    states = sorted(r.state for r in setup.deliveries())
    assert states == ["cancelled", "cancelled", "failed"]
    hook = webhooks.get_webhook(ctx, setup.platform_id, setup.webhook_ids[0])
    assert hook.status is WebhookStatus.STOPPED and hook.stop_reason is StopReason.GONE
    assert setup.publish().deliveries == 0  # a stopped webhook gets no new deliveries


async def test_a_webhook_failing_for_five_days_is_stopped(
    ctx: Context, receiver: Receiver, worker: Worker, clock: FakeClock
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    receiver.policy = lambda _r: Answer(status=500)
    days = 0
    while days < 7:
        setup.publish()
        await worker.run_until_idle()
        hook = webhooks.get_webhook(ctx, setup.platform_id, setup.webhook_ids[0])
        if hook.status is WebhookStatus.STOPPED:
            break
        clock.advance(days=1)
        days += 1
    assert days == 5  # first failure on day 0, stopped at the first failure after 5 days
    assert hook.stop_reason is StopReason.FAILING
    assert not setup.deliveries(state="pending")


async def test_one_success_resets_the_failing_period(
    ctx: Context, receiver: Receiver, worker: Worker, clock: FakeClock
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    for day in range(8):
        receiver.policy = answering(200 if day == 3 else 500)
        setup.publish()
        await worker.run_until_idle()
        clock.advance(days=1)
    hook = webhooks.get_webhook(ctx, setup.platform_id, setup.webhook_ids[0])
    assert hook.status is WebhookStatus.WORKING


async def test_an_expired_lease_is_claimed_again(
    ctx: Context, receiver: Receiver, worker: Worker, clock: FakeClock
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    setup.publish()
    with ctx.db.write() as conn:  # a worker claims, then dies
        claimed = claims.claim(
            conn,
            owner="dead-worker",
            now=clock.now,
            lease_until=clock.now + timedelta(seconds=60),
            limit=10,
            per_webhook_cap=10,
        ).leased
    assert len(claimed) == 1
    await worker.run_until_idle()
    assert receiver.received() == []  # still leased: nobody else sends it
    clock.advance(seconds=61)
    with ctx.db.write() as conn:
        assert claims.reclaim_expired(conn, clock.now) == 1
    await worker.run_until_idle()
    (row,) = setup.deliveries()
    # This once sent nothing in a full CI run on PostgreSQL (never alone): the row and
    # its attempts say which step did not happen, should it again.
    trail = [(a.number, a.status_code, a.error, a.error_detail) for a in setup.attempts(row.id)]
    assert len(receiver.received()) == 1, (row._asdict(), trail)
    assert row.state == "delivered" and row.lease_owner is None


def test_a_claim_carries_every_signing_secret_current_first(
    ctx: Context, receiver: Receiver, clock: FakeClock
) -> None:
    """The claim reads secrets with the deliveries (one statement on PostgreSQL): the
    current one, then those in grace by later expiry; one whose grace ended, none."""
    setup = make_setup(ctx, [receiver.url()])
    hook = setup.webhook_ids[0]
    first = setup.secret()
    webhooks.rotate_secret(ctx, setup.platform_id, hook, ACTOR, expire_old_after_seconds=60)
    second = setup.secret()
    webhooks.rotate_secret(ctx, setup.platform_id, hook, ACTOR, expire_old_after_seconds=3600)
    current = setup.secret()
    assert len({first, second, current}) == 3

    def claimed_secrets() -> list[str]:
        setup.publish()
        with ctx.db.write() as conn:
            (due,) = claims.claim(
                conn, owner="w", now=clock.now, lease_until=clock.now, limit=5, per_webhook_cap=5
            ).leased
            conn.execute(deliveries.update().values(state="delivered"))
        assert due.rate_limit_per_second is None
        return [ctx.box.decrypt(c) for c in due.secret_ciphertexts]

    assert claimed_secrets() == [current, second, first]
    clock.advance(seconds=61)  # the first secret's grace is over; the second's is not
    assert claimed_secrets() == [current, second]


def test_a_claim_takes_the_oldest_due_within_each_webhooks_cap(
    ctx: Context, receiver: Receiver, clock: FakeClock
) -> None:
    """What other workers hold counts against the cap; within it, oldest due first."""
    setup = make_setup(ctx, [receiver.url(), receiver.url("/b")])
    a, b = setup.webhook_ids
    setup.publish()  # one delivery each, claimed by another worker
    with ctx.db.write() as conn:
        held = claims.claim(
            conn, owner="other", now=clock.now, lease_until=clock.now, limit=5, per_webhook_cap=5
        ).leased
    assert sorted(d.webhook_id for d in held) == sorted([a, b])
    for _ in range(4):
        clock.advance(seconds=1)
        setup.publish()
    with ctx.db.write() as conn:  # only webhook a's held delivery still counts
        conn.execute(
            deliveries.update()
            .where(deliveries.c.webhook_id == b, deliveries.c.state == "in_flight")
            .values(state="delivered", lease_owner=None)
        )
    clock.advance(seconds=1)
    with ctx.db.write() as conn:
        mine = claims.claim(
            conn, owner="me", now=clock.now, lease_until=clock.now, limit=10, per_webhook_cap=3
        ).leased
    taken = [d.webhook_id for d in mine]
    assert taken.count(a) == 2 and taken.count(b) == 3  # a: 1 in flight + 2; b: 3
    created = {r.id: r.created_at for r in setup.deliveries()}
    for hook in (a, b):
        theirs = setup.deliveries(webhook_id=hook, state="pending")
        claimed = [created[d.id] for d in mine if d.webhook_id == hook]
        # every delivery left pending is newer than every one claimed
        assert all(r.created_at > max(claimed) for r in theirs)
    assert [created[d.id] for d in mine] == sorted(created[d.id] for d in mine)


async def test_a_late_result_from_a_lost_lease_does_not_overwrite(
    ctx: Context, receiver: Receiver, clock: FakeClock
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    setup.publish()
    with ctx.db.write() as conn:
        (due,) = claims.claim(
            conn,
            owner="slow",
            now=clock.now,
            lease_until=clock.now + timedelta(seconds=1),
            limit=1,
            per_webhook_cap=1,
        ).leased
    clock.advance(seconds=2)
    with ctx.db.write() as conn:
        claims.reclaim_expired(conn, clock.now)
        (mine,) = claims.claim(
            conn,
            owner="fresh",
            now=clock.now,
            lease_until=clock.now + timedelta(seconds=60),
            limit=1,
            per_webhook_cap=1,
        ).leased
    assert mine.id == due.id
    from hookline.domain.deliveries import AttemptResult, ErrorClass
    from hookline.domain.settlement import settlement_for

    failed = AttemptResult(500, 1.0, "", ErrorClass.HTTP_STATUS, None, None)
    late = settlement_for(
        delivery_id=due.id,
        webhook_id=due.webhook_id,
        attempts_before=0,
        policy=due.retry_policy,
        result=failed,
        started_at=clock.now,
        now=clock.now,
    )
    assert (
        ctx.queue.settle([late], clock.now, owner="slow") == 0
    )  # recorded, but the row is not its own
    (row,) = setup.deliveries()
    assert row.state == "in_flight" and row.lease_owner == "fresh"
    # the reclaim recorded an attempt of unknown outcome; the late result is kept too
    assert [a.error for a in setup.attempts(row.id)] == ["outcome_unknown", "http_status"]


async def test_blocked_addresses_fail_without_sending(ctx: Context, receiver: Receiver) -> None:
    setup = make_setup(ctx, [receiver.url(), f"http://localhost:{receiver.port}/x"])
    setup.publish()
    worker = make_worker(ctx, allowed=())  # loopback not allowed at send time
    try:
        await worker.run_until_idle()
    finally:
        await worker.sender.close()
    assert receiver.received() == []
    rows = setup.deliveries()
    assert [r.state for r in rows] == ["failed", "failed"]
    assert {r.last_error for r in rows} == {"blocked_address"}
    detail = setup.attempts(rows[0].id)[0].error_detail
    assert "loopback" in detail


async def test_a_dead_endpoint_does_not_slow_a_healthy_one(
    ctx: Context, receiver: Receiver
) -> None:
    """The hung webhook holds its cap of slots; the healthy one's 30 deliveries all arrive."""
    setup = make_setup(ctx, [receiver.url("/dead"), receiver.url("/alive")])
    receiver.hold_paths = {"/dead"}
    for _ in range(30):
        setup.publish()
    worker = make_worker(ctx, concurrency=8, per_webhook_cap=3, shutdown_timeout=0.2)
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.to_thread(receiver.wait_for, lambda r: len(r.received("/alive")) == 30, 20.0)
        await asyncio.to_thread(receiver.wait_for, lambda r: r.held == 3, 5.0)
    finally:
        worker.stop()
        await task
        await worker.sender.close()
        receiver.release_held()
    assert receiver.held == 3  # never more than the cap in flight to the dead endpoint
    dead, alive = setup.webhook_ids
    assert len(setup.deliveries(webhook_id=alive, state="delivered")) == 30
    # the graceful stop gave the hung ones back, untouched
    assert len(setup.deliveries(webhook_id=dead, state="pending")) == 30
    assert setup.deliveries(state="in_flight") == []


async def test_stopping_a_webhook_cancels_its_pending_deliveries(
    ctx: Context, receiver: Receiver, worker: Worker
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    setup.publish()
    webhooks.stop_webhook(ctx, setup.platform_id, setup.webhook_ids[0])
    await worker.run_until_idle()
    assert receiver.received() == []
    assert [r.state for r in setup.deliveries()] == ["cancelled"]


async def test_an_expired_zone_gets_no_new_deliveries(
    ctx: Context, receiver: Receiver, clock: FakeClock
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    set_zone(ctx, setup.platform_id, 1, clock.now + timedelta(hours=1))
    assert setup.publish().deliveries == 1
    clock.advance(hours=2)
    result = setup.publish()
    assert result.deliveries == 0 and result.event_id.startswith("evt_")


async def test_rotation_grace_signs_with_both_secrets(
    ctx: Context, receiver: Receiver, worker: Worker
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    old = setup.secret()
    new = webhooks.rotate_secret(
        ctx, setup.platform_id, setup.webhook_ids[0], ACTOR, expire_old_after_seconds=3600
    )
    setup.publish()
    await worker.run_until_idle()
    (request,) = receiver.received()
    assert (
        request.headers["CrescLab-Signature"]
        == hmac.new(new.encode(), request.body, hashlib.sha256).hexdigest()
    )
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    signed = (
        f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode()
        + request.body
    )
    for secret, sig in zip((new, old), signatures, strict=True):
        key = base64.b64decode(secret.removeprefix("whsec_"))
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        assert sig == f"v1,{expected}"


async def test_retention_purges_old_events_with_their_deliveries(
    ctx: Context, receiver: Receiver, clock: FakeClock
) -> None:
    setup = make_setup(ctx, [receiver.url()])
    old = setup.publish()
    worker = make_worker(ctx, retention=timedelta(days=30))
    try:
        await worker.run_until_idle()
        clock.advance(days=31)
        new = setup.publish()
        await worker.run_until_idle()
        await worker._maintain()  # reclaims, then purges in batches
    finally:
        await worker.sender.close()
    remaining = {r.event_id for r in setup.deliveries()}
    assert remaining == {new.event_id}
    assert old.event_id not in remaining
