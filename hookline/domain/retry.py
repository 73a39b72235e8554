"""When to try a delivery again, and whether an outcome is final.

MAAC retries 408, 429, 5xx, timeouts and connection errors after 1, 2 and 4 seconds.
hookline keeps those first three waits exact (receivers written for MAAC may count on
them) and, under the default ``extended`` policy, goes on for about two days with
+-20 % jitter so that a fleet of failing deliveries does not retry in lock-step.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

MAAC_DELAYS = (1.0, 2.0, 4.0)
EXTENDED_DELAYS = (*MAAC_DELAYS, 30.0, 300.0, 1800.0, 7200.0, 21600.0, 43200.0, 86400.0)
JITTER = 0.2
MAX_RETRY_AFTER = 3600.0
RETRIED_STATUSES = frozenset({408, 429})
RETRY_AFTER_STATUSES = frozenset({429, 503})


class RetryPolicy(enum.StrEnum):
    EXTENDED = "extended"
    MAAC = "maac"

    @property
    def delays(self) -> tuple[float, ...]:
        return EXTENDED_DELAYS if self is RetryPolicy.EXTENDED else MAAC_DELAYS


class Verdict(enum.StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """One attempt, reduced to what the retry rule looks at."""

    status_code: int | None
    transport_error: bool  # timeout, refused, reset, DNS: no HTTP answer at all
    blocked: bool = False
    retry_after: float | None = None


def judge(outcome: Outcome) -> Verdict:
    """Any 2xx delivers; 408, 429, 5xx and transport errors retry; the rest fail for good."""
    if outcome.blocked:
        return Verdict.FAILED
    code = outcome.status_code
    if code is None:
        return Verdict.RETRY if outcome.transport_error else Verdict.FAILED
    if 200 <= code < 300:
        return Verdict.DELIVERED
    if code in RETRIED_STATUSES or 500 <= code < 600:
        return Verdict.RETRY
    return Verdict.FAILED


def next_delay(
    policy: RetryPolicy, attempts_made: int, outcome: Outcome, rng: random.Random | None = None
) -> float | None:
    """Seconds until the next attempt, or None when the schedule is spent.

    ``attempts_made`` counts the attempt just judged (1 after the first). A
    ``Retry-After`` on 429/503 replaces the scheduled wait when it is longer, up to
    an hour, so a receiver can slow us down but not park a delivery for ever.
    """
    delays = policy.delays
    index = attempts_made - 1
    if index < 0 or index >= len(delays):
        return None
    delay = delays[index]
    if index >= len(MAAC_DELAYS):
        delay *= 1 + (rng or random).uniform(-JITTER, JITTER)
    if (
        outcome.retry_after is not None
        and outcome.status_code in RETRY_AFTER_STATUSES
        and outcome.retry_after > delay
    ):
        delay = min(outcome.retry_after, MAX_RETRY_AFTER)
    return delay
