"""Delivery use cases: judge an attempt, write it back, read the log, resend, recover, test.

The worker and the API share ``settle``: whoever made the HTTP request, the attempt is
recorded, the delivery moves on (delivered, retried later, failed), and the webhook's
health follows (``410 Gone`` stops it; failing for ``failing_period`` stops it).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection

from hookline.catalog import TOPICS
from hookline.domain import wire
from hookline.domain.deliveries import (
    Attempt,
    AttemptResult,
    AttemptTrigger,
    Delivery,
    DeliveryState,
    DueDelivery,
    ErrorClass,
    Event,
    Outgoing,
    Settlement,
)
from hookline.domain.errors import (
    DeliveryInFlight,
    DeliveryNotFound,
    EventNotFound,
    InvalidInput,
)
from hookline.domain.ids import new_id
from hookline.domain.models import Platform, StopReason, Webhook
from hookline.domain.retry import Outcome, RetryPolicy, Verdict, judge, next_delay
from hookline.services.context import Context
from hookline.services.paging import decode_cursor, encode_cursor
from hookline.services.platforms import get_platform
from hookline.services.validation import clean_moment
from hookline.services.webhooks import get_webhook, signing_secrets
from hookline.store import events as store
from hookline.store import queue

Send = Callable[[Outgoing], Awaitable[AttemptResult]]
GONE = 410
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
TRANSPORT_ERRORS = frozenset({ErrorClass.TIMEOUT, ErrorClass.CONNECT_ERROR, ErrorClass.DNS_ERROR})


def outcome_of(result: AttemptResult) -> Outcome:
    return Outcome(
        status_code=result.status_code,
        transport_error=result.error in TRANSPORT_ERRORS,
        blocked=result.error is ErrorClass.BLOCKED_ADDRESS,
        retry_after=result.retry_after,
    )


def attempt_of(
    result: AttemptResult, number: int, trigger: AttemptTrigger, started_at: datetime
) -> Attempt:
    return Attempt(
        number=number,
        trigger=trigger,
        started_at=started_at,
        latency_ms=round(result.latency_ms, 3),
        status_code=result.status_code,
        error=result.error.value if result.error else None,
        error_detail=result.error_detail,
        response_body=result.response_body,
    )


def settlement_for(
    *,
    delivery_id: str,
    webhook_id: str,
    attempts_before: int,
    policy: RetryPolicy,
    result: AttemptResult,
    started_at: datetime,
    now: datetime,
    rng: random.Random | None = None,
) -> Settlement:
    """Where a delivery goes after one attempt (the MAAC retry rule plus our schedule)."""
    number = attempts_before + 1
    outcome = outcome_of(result)
    verdict = judge(outcome)
    state, next_at = DeliveryState.FAILED, None
    if verdict is Verdict.DELIVERED:
        state = DeliveryState.DELIVERED
    elif verdict is Verdict.RETRY:
        delay = next_delay(policy, number, outcome, rng)
        if delay is not None:
            state, next_at = DeliveryState.PENDING, now + timedelta(seconds=delay)
    return Settlement(
        delivery_id=delivery_id,
        webhook_id=webhook_id,
        attempt=attempt_of(result, number, AttemptTrigger.WORKER, started_at),
        state=state,
        next_attempt_at=next_at,
    )


def settle(ctx: Context, settlements: Sequence[Settlement], *, owner: str | None) -> int:
    """Record attempts and states, then stop webhooks that answered 410 or kept failing."""
    if not settlements:
        return 0
    with ctx.db.write() as conn:
        return settle_in(conn, ctx, settlements, owner=owner)


def settle_in(
    conn: Connection, ctx: Context, settlements: Sequence[Settlement], *, owner: str | None
) -> int:
    """``settle`` inside the caller's transaction (the worker pairs it with its next claim)."""
    if not settlements:
        return 0
    now = ctx.clock()
    changed = queue.settle(conn, settlements, now, owner=owner)
    gone = sorted({s.webhook_id for s in settlements if s.attempt.status_code == GONE})
    queue.stop_webhooks(conn, gone, StopReason.GONE, now)
    failing = queue.track_health(conn, settlements, now, now - ctx.failing_period)
    queue.stop_webhooks(conn, [w for w in failing if w not in gone], StopReason.FAILING, now)
    if gone or failing or any(s.state is DeliveryState.PENDING for s in settlements):
        # a retry scheduled for a webhook stopped meanwhile must not stay behind
        queue.cancel_for_stopped(conn, sorted({s.webhook_id for s in settlements}), now)
    return changed


def list_deliveries(
    ctx: Context,
    platform_id: str,
    webhook_id: str,
    *,
    state: str | None = None,
    topic: str | None = None,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[Delivery], str | None]:
    """A page of a webhook's deliveries, newest first, and the cursor of the next page."""
    if state is not None and state not in DeliveryState.__members__.values():
        states = ", ".join(s.value for s in DeliveryState)
        raise InvalidInput.single("state", "invalid_choice", f"state must be one of {states}.")
    if topic is not None and topic not in TOPICS:
        raise InvalidInput.single("topic", "unknown_topic", f"topic '{topic}' is not known.")
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput.single(
            "limit", "out_of_range", f"limit must be between 1 and {MAX_PAGE_SIZE}."
        )
    get_webhook(ctx, platform_id, webhook_id)  # 404 for another platform's webhook
    since, until = _window(ctx, platform_id, since, until)
    before = decode_cursor(cursor, "dlv_") if cursor else None
    with ctx.db.read() as conn:
        items = store.list_deliveries(
            conn,
            platform_id,
            webhook_id,
            state=state,
            topic=topic,
            since=since,
            until=until,
            before_id=before,
            limit=limit + 1,
        )
    more = len(items) > limit
    items = items[:limit]
    next_cursor = encode_cursor(items[-1].id) if more else None
    return items, next_cursor


def _delivery(conn: Connection, platform_id: str, delivery_id: str) -> Delivery:
    delivery = store.get_delivery(conn, platform_id, delivery_id)
    if delivery is None:
        raise DeliveryNotFound(f"No delivery has the id '{delivery_id}'.")
    return delivery


def get_delivery(ctx: Context, platform_id: str, delivery_id: str) -> Delivery:
    with ctx.db.read() as conn:
        return _delivery(conn, platform_id, delivery_id)


def get_event(ctx: Context, platform_id: str, event_id: str) -> Event:
    with ctx.db.read() as conn:
        event = store.get_event(conn, platform_id, event_id)
    if event is None:
        raise EventNotFound(f"No event has the id '{event_id}'.")
    return event


def _window(
    ctx: Context, platform_id: str, since: datetime | date | None, until: datetime | date | None
) -> tuple[datetime | None, datetime | None]:
    """Both bounds as aware times; dates are midnights in the platform's time zone."""
    if since is None and until is None:
        return None, None
    timezone = get_platform(ctx, platform_id).timezone
    return clean_moment(since, timezone, "since"), clean_moment(until, timezone, "until")


def recover(
    ctx: Context,
    platform_id: str,
    webhook_id: str,
    since: datetime | date,
    until: datetime | date | None,
) -> int:
    """Put the failed deliveries created in [since, until) back in the queue, due now.

    Without ``until`` the window is open-ended: everything failed since ``since``.
    """
    now = ctx.clock()
    get_webhook(ctx, platform_id, webhook_id)
    start, end = _window(ctx, platform_id, since, until)
    assert start is not None
    if (end or now) <= start:
        raise InvalidInput.single("until", "out_of_range", "until must be later than since.")
    with ctx.db.write() as conn:
        count = store.requeue_failed(conn, webhook_id, start, end, now)
        if count:
            queue.notify(conn)
    if count:
        ctx.wake_workers()
    return count


@dataclass(frozen=True)
class SentNow:
    """What a resend or a test send did, as the caller shows it."""

    delivery_id: str
    request_headers: dict[str, str]
    request_body: bytes
    result: AttemptResult


async def resend(ctx: Context, send: Send, platform_id: str, delivery_id: str) -> SentNow:
    """One attempt now, with the delivery's own idempotency key and stored body."""

    def load() -> tuple[Delivery, DueDelivery, list[str]]:
        with ctx.db.read() as conn:
            delivery = _delivery(conn, platform_id, delivery_id)
            if delivery.state is DeliveryState.IN_FLIGHT:
                raise DeliveryInFlight(
                    f"Delivery '{delivery_id}' is being sent right now; try again in a moment."
                )
            # the URL even of a deleted webhook: its history may still be resent
            loaded = queue.load_due(conn, [delivery.id], ctx.clock())
        if not loaded:
            raise DeliveryNotFound(
                f"The webhook '{delivery.webhook_id}' of this delivery no longer exists."
            )
        due = loaded[0]
        return delivery, due, [ctx.box.decrypt(c) for c in due.secret_ciphertexts]

    delivery, due, secrets = await asyncio.to_thread(load)
    started_at = ctx.clock()
    headers = wire.delivery_headers(
        secrets=secrets, idempotency_key=due.idempotency_key, body=due.body, sent_at=started_at
    )
    result = await send(Outgoing(url=due.url, body=due.body, headers=headers))
    state = DeliveryState.DELIVERED if result.ok else delivery.state
    settlement = Settlement(
        delivery_id=delivery.id,
        webhook_id=delivery.webhook_id,
        attempt=attempt_of(result, delivery.attempts + 1, AttemptTrigger.RESEND, started_at),
        state=state,
        next_attempt_at=None if result.ok else delivery.next_attempt_at,
    )
    await asyncio.to_thread(settle, ctx, [settlement], owner=None)
    return SentNow(delivery.id, headers, due.body, result)


async def send_test(
    ctx: Context, send: Send, platform_id: str, webhook_id: str, topic_name: str
) -> SentNow:
    """Send the topic's sample now, MAAC-shaped, flagged ``CrescLab-Test: true``.

    It is kept as an event, a delivery and an attempt like any other, so the result
    can be read again in the delivery log; it is never retried.
    """
    topic = TOPICS.get(topic_name)
    if topic is None:
        raise InvalidInput.single(
            "topic", "unknown_topic", f"topic '{topic_name}' is not a known event topic."
        )

    def load() -> tuple[Webhook, Platform, list[str]]:
        webhook = get_webhook(ctx, platform_id, webhook_id)
        return webhook, get_platform(ctx, platform_id), signing_secrets(ctx, webhook_id)

    webhook, platform, secrets = await asyncio.to_thread(load)
    started_at = ctx.clock()
    body = wire.render_body(topic.name, topic.sample, started_at, platform.timezone)
    key = wire.new_idempotency_key()
    headers = wire.delivery_headers(
        secrets=secrets, idempotency_key=key, body=body, sent_at=started_at, test=True
    )
    result = await send(Outgoing(url=webhook.url, body=body, headers=headers))
    event_id, delivery_id = new_id("evt"), new_id("dlv")
    state = DeliveryState.DELIVERED if result.ok else DeliveryState.FAILED

    def record() -> None:
        now = ctx.clock()
        with ctx.db.write() as conn:
            store.insert_events(
                conn,
                [
                    store.event_row(
                        event_id=event_id,
                        platform_id=platform_id,
                        topic=topic.name,
                        body=body,
                        occurred_at=started_at,
                        received_at=started_at,
                        is_test=True,
                    )
                ],
            )
            store.insert_deliveries(
                conn,
                [
                    store.delivery_row(
                        delivery_id=delivery_id,
                        event_id=event_id,
                        webhook_id=webhook_id,
                        platform_id=platform_id,
                        topic=topic.name,
                        idempotency_key=key,
                        now=started_at,
                        state=DeliveryState.IN_FLIGHT,  # settled just below
                    )
                ],
            )
            queue.settle(
                conn,
                [
                    Settlement(
                        delivery_id=delivery_id,
                        webhook_id=webhook_id,
                        attempt=attempt_of(result, 1, AttemptTrigger.TEST, started_at),
                        state=state,
                        next_attempt_at=None,
                    )
                ],
                now,
                owner=None,
            )

    await asyncio.to_thread(record)
    return SentNow(delivery_id, headers, body, result)
