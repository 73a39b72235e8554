"""Delivery use cases: read the log, recover failed deliveries, resend one, send a test.

A resend and a test send are one attempt made now, in the caller's request; the worker
judges and records its own attempts (``domain.settlement``, ``store.queue``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection

from hookline.catalog import TOPICS
from hookline.domain import controls, wire
from hookline.domain.deliveries import (
    RESEND_OWNER_PREFIX,
    AttemptResult,
    AttemptTrigger,
    Delivery,
    DeliveryState,
    DueDelivery,
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
from hookline.domain.settlement import attempt_of
from hookline.services.context import Context
from hookline.services.controls import open_headers
from hookline.services.paging import decode_cursor, encode_cursor
from hookline.services.platforms import get_platform, platform_not_found
from hookline.services.validation import clean_moment
from hookline.services.webhooks import get_webhook, webhook_or_404
from hookline.store import claims, ingest
from hookline.store import delivery_log as store
from hookline.store import platforms as platform_store
from hookline.store import webhooks as webhook_store

Send = Callable[[Outgoing], Awaitable[AttemptResult]]


@dataclass(frozen=True)
class Target:
    """What a webhook adds to a send: its extra headers (in clear) and its timeout."""

    headers: Mapping[str, str]
    timeout_seconds: int | None


DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


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
    count = ctx.queue.requeue_failed(webhook_id, start, end, now)
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


async def sign_and_send(
    send: Send,
    *,
    url: str,
    body: bytes,
    secrets: Sequence[str],
    idempotency_key: str,
    sent_at: datetime,
    test: bool = False,
    target: Target | None = None,
) -> tuple[dict[str, str], AttemptResult]:
    """Sign ``body`` with every active secret as the worker would, and send it once.

    The headers answered are those sent, the webhook's extra ones masked: the answer
    is shown on a page and in the API, where their values never appear again.
    """
    headers = wire.delivery_headers(
        secrets=list(secrets),
        idempotency_key=idempotency_key,
        body=body,
        sent_at=sent_at,
        test=test,
    )
    extra = target.headers if target else {}
    outgoing = Outgoing(
        url=url,
        body=body,
        headers={**extra, **headers},
        timeout_seconds=target.timeout_seconds if target else None,
    )
    shown = {**dict.fromkeys(extra, controls.MASK), **headers}
    return shown, await send(outgoing)


async def resend(ctx: Context, send: Send, platform_id: str, delivery_id: str) -> SentNow:
    """One attempt now, with the delivery's own idempotency key and stored body.

    The resend leases the delivery first, as a worker would, and settles only while it
    still holds that lease: no worker sends the same delivery meanwhile, and a stale
    result changes no row. If this process dies, the lease expires like a worker's.
    """

    def load() -> tuple[str, DueDelivery, list[str], Target]:
        with ctx.db.read() as conn:
            delivery = _delivery(conn, platform_id, delivery_id)
            # the URL even of a deleted webhook: its history may still be resent
            loaded = claims.load_due(conn, [delivery.id], ctx.clock())
        if not loaded:
            raise DeliveryNotFound(
                f"The webhook '{delivery.webhook_id}' of this delivery no longer exists."
            )
        due = loaded[0]
        target = Target(open_headers(ctx, due.headers_sealed), due.timeout_seconds)
        return delivery.id, due, [ctx.box.decrypt(c) for c in due.secret_ciphertexts], target

    found, due, secrets, target = await asyncio.to_thread(load)
    owner = RESEND_OWNER_PREFIX + new_id("rs")[-12:]
    now = ctx.clock()
    lease = await asyncio.to_thread(
        ctx.queue.lease, found, owner=owner, now=now, lease_until=now + ctx.resend_lease
    )
    if lease is None:
        raise DeliveryInFlight(
            f"Delivery '{delivery_id}' is being sent right now; try again in a moment."
        )
    started_at = ctx.clock()
    headers, result = await sign_and_send(
        send,
        url=due.url,
        body=due.body,
        secrets=secrets,
        idempotency_key=due.idempotency_key,
        sent_at=started_at,
        target=target,
    )
    ok = result.ok
    settlement = Settlement(
        delivery_id=found,
        webhook_id=due.webhook_id,
        attempt=attempt_of(result, lease.attempts + 1, AttemptTrigger.RESEND, started_at),
        state=DeliveryState.DELIVERED if ok else lease.state,
        next_attempt_at=None if ok else lease.next_attempt_at,
    )
    await asyncio.to_thread(ctx.queue.settle, [settlement], ctx.clock(), owner=owner)
    return SentNow(found, headers, due.body, result)


def _test_target(
    ctx: Context, platform_id: str, webhook_id: str
) -> tuple[str, str, list[str], Target]:
    """The webhook's URL, its platform's time zone, its signing secrets and its extra
    headers and timeout, read at once."""
    with ctx.db.read() as conn:
        webhook = webhook_or_404(conn, platform_id, webhook_id)
        platform = platform_store.get_platform(conn, platform_id)
        if platform is None:
            raise platform_not_found(platform_id)
        ciphertexts = webhook_store.active_secret_ciphertexts(conn, webhook_id, ctx.clock())
        sealed = webhook_store.sealed_headers(conn, webhook_id)
    target = Target(open_headers(ctx, sealed), webhook.timeout_seconds)
    return webhook.url, platform.timezone, [ctx.box.decrypt(c) for c in ciphertexts], target


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
    url, timezone, secrets, target = await asyncio.to_thread(
        _test_target, ctx, platform_id, webhook_id
    )
    started_at = ctx.clock()
    body = wire.render_body(topic.name, topic.sample, started_at, timezone)
    key = wire.new_idempotency_key()
    headers, result = await sign_and_send(
        send,
        url=url,
        body=body,
        secrets=secrets,
        idempotency_key=key,
        sent_at=started_at,
        test=True,
        target=target,
    )
    event_id, delivery_id = new_id("evt"), new_id("dlv")
    event = ingest.event_row(
        event_id=event_id,
        platform_id=platform_id,
        topic=topic.name,
        body=body,
        occurred_at=started_at,
        received_at=started_at,
        is_test=True,
    )
    delivery = ingest.delivery_row(
        delivery_id=delivery_id,
        event_id=event_id,
        webhook_id=webhook_id,
        platform_id=platform_id,
        topic=topic.name,
        idempotency_key=key,
        now=started_at,
        state=DeliveryState.DELIVERED if result.ok else DeliveryState.FAILED,
    ) | {"is_test": True}  # left out of "last delivery" and the health figures
    attempt = attempt_of(result, 1, AttemptTrigger.TEST, started_at)

    def record() -> None:
        with ctx.db.write() as conn:
            ingest.record_test_send(
                conn, event=event, delivery=delivery, attempt=attempt, now=ctx.clock()
            )

    await asyncio.to_thread(record)
    return SentNow(delivery_id, headers, body, result)
