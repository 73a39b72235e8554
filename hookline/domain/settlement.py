"""How one attempt's answer settles a delivery, and when a webhook must stop.

The worker, a resend and a test send all judge answers by these rules; the store only
records what they decided.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from hookline.domain.deliveries import (
    RESEND_OWNER_PREFIX,
    Attempt,
    AttemptResult,
    AttemptTrigger,
    DeliveryState,
    DueDelivery,
    ErrorClass,
    Settlement,
)
from hookline.domain.retry import (
    MAX_RETRY_AFTER,
    RETRY_AFTER_STATUSES,
    Outcome,
    RetryPolicy,
    Verdict,
    judge,
    next_delay,
)
from hookline.domain.text import storable

GONE = 410
"""A receiver answering ``410 Gone`` asks never to be called again: its webhook stops."""
TRANSPORT_ERRORS = frozenset(
    {
        ErrorClass.TIMEOUT,
        ErrorClass.CONNECT_ERROR,
        ErrorClass.DNS_ERROR,
        ErrorClass.OUTCOME_UNKNOWN,  # no answer recorded: retried like a lost connection
    }
)


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
    """What is kept of an attempt: a worker's, a resend's or a test send's. What the
    receiver said is kept as text both backends can store (``text.storable``), here
    where its answer becomes ours, before any write lock is taken."""
    return Attempt(
        number=number,
        trigger=trigger,
        started_at=started_at,
        latency_ms=round(result.latency_ms, 3),
        status_code=result.status_code,
        error=result.error.value if result.error else None,
        error_detail=None if result.error_detail is None else storable(result.error_detail),
        response_body=storable(result.response_body),
        response_headers=storable(result.response_headers),
    )


def settlement_of(
    due: DueDelivery,
    result: AttemptResult,
    *,
    started_at: datetime,
    now: datetime,
    rng: random.Random | None = None,
) -> Settlement:
    """``settlement_for`` a delivery a worker leased and attempted."""
    return settlement_for(
        delivery_id=due.id,
        webhook_id=due.webhook_id,
        attempts_before=due.attempts,
        policy=due.retry_policy,
        result=result,
        started_at=started_at,
        now=now,
        rng=rng,
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
        pause_until=pause_until(result, now),
    )


def pause_until(result: AttemptResult, now: datetime) -> datetime | None:
    """When a 429 or 503 with ``Retry-After`` lets its webhook be called again (an hour
    at most), or None. The receiver asked for quiet: not just this delivery waits."""
    if result.status_code not in RETRY_AFTER_STATUSES or not result.retry_after:
        return None
    return now + timedelta(seconds=min(result.retry_after, MAX_RETRY_AFTER))


def unknown_outcome(
    *,
    delivery_id: str,
    webhook_id: str,
    owner: str,
    attempts_before: int,
    policy: RetryPolicy,
    now: datetime,
) -> Settlement:
    """A reclaimed lease: its holder may have sent, so it counts as an attempt.

    Counting it keeps a receiver that crashes every worker it is sent to from looping
    for ever; the delivery is due again at once (the holder died, not the receiver),
    or fails when its schedule is spent.
    """
    number = attempts_before + 1
    trigger = (
        AttemptTrigger.RESEND if owner.startswith(RESEND_OWNER_PREFIX) else AttemptTrigger.WORKER
    )
    no_answer = outcome_of(
        AttemptResult(None, 0.0, "", ErrorClass.OUTCOME_UNKNOWN, None, retry_after=None)
    )
    spent = next_delay(policy, number, no_answer) is None
    return Settlement(
        delivery_id=delivery_id,
        webhook_id=webhook_id,
        attempt=Attempt(
            number=number,
            trigger=trigger,
            started_at=now,
            latency_ms=0.0,
            status_code=None,
            error=ErrorClass.OUTCOME_UNKNOWN.value,
            error_detail=f"lease of {owner[:200]} reclaimed: it died or hung before recording"
            " a result; the request may or may not have arrived",
            response_body="",
        ),
        state=DeliveryState.FAILED if spent else DeliveryState.PENDING,
        next_attempt_at=None if spent else now,
    )


@dataclass(frozen=True)
class Health:
    """What a batch of settlements says about each webhook's health."""

    gone: list[str]
    """Answered ``410 Gone``: stop now."""
    healthy: list[str]
    """Delivered at least once: any failing period ends."""
    failing: list[str]
    """Only failures: a failing period starts, or goes on."""


def health_of(settlements: Sequence[Settlement]) -> Health:
    ok: set[str] = set()
    bad: set[str] = set()
    for s in settlements:
        (ok if s.state is DeliveryState.DELIVERED else bad).add(s.webhook_id)
    gone = {s.webhook_id for s in settlements if s.attempt.status_code == GONE}
    return Health(gone=sorted(gone), healthy=sorted(ok), failing=sorted(bad - ok))


def failing_too_long(
    failing_since: Mapping[str, datetime], now: datetime, period: timedelta
) -> list[str]:
    """Webhooks whose every attempt failed for ``period`` or longer: stop them as failing."""
    return sorted(w for w, since in failing_since.items() if since <= now - period)
