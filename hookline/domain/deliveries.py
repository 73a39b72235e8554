"""Events, deliveries and attempts as the rest of the code sees them.

A delivery is one event for one webhook, and it is also the queue entry: its state,
attempt count, next attempt time and lease live on the same row, so a failed attempt
reschedules the row instead of copying it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from hookline.domain.retry import RetryPolicy


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ErrorClass(enum.StrEnum):
    """Why an attempt got no 2xx: what the log shows and the retry rule reads."""

    TIMEOUT = "timeout"
    CONNECT_ERROR = "connect_error"
    DNS_ERROR = "dns_error"
    TLS_ERROR = "tls_error"
    BLOCKED_ADDRESS = "blocked_address"
    HTTP_STATUS = "http_status"
    SECRET_UNREADABLE = "secret_unreadable"  # noqa: S105 - a class name, not a secret
    """Nothing was sent: this server's key cannot open the webhook's secret to sign it."""
    OUTCOME_UNKNOWN = "outcome_unknown"
    """The lease was reclaimed: its holder died (or hung) and may or may not have sent."""


@dataclass(frozen=True)
class Outgoing:
    """One signed request, ready for the sender."""

    url: str
    body: bytes
    headers: Mapping[str, str]
    timeout_seconds: float | None = None
    """This request's total timeout, when its webhook sets one; else the sender's."""
    send_by: float | None = None
    """A rate-limited request's last moment to leave (``time.monotonic()``), else ``None``."""


@dataclass(frozen=True)
class AttemptResult:
    """What the sender saw of one attempt; it never raises instead."""

    status_code: int | None
    latency_ms: float
    response_body: str
    error: ErrorClass | None
    error_detail: str | None
    retry_after: float | None
    response_headers: str = ""
    """The answer's headers as ``domain.response_headers.capture`` keeps them."""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class AttemptTrigger(enum.StrEnum):
    WORKER = "worker"
    RESEND = "resend"
    TEST = "test"


RESEND_OWNER_PREFIX = "resend:"
"""A resend leases its delivery as ``resend:<random>``: it has no heartbeat."""


@dataclass(frozen=True)
class DueDelivery:
    """A claimed delivery with everything the sender needs, secrets still encrypted."""

    id: str
    webhook_id: str
    url: str
    body: bytes
    idempotency_key: str
    attempts: int
    retry_policy: RetryPolicy
    secret_ciphertexts: tuple[str, ...]
    headers_sealed: str | None = None
    """The webhook's extra headers, sealed like its secrets (JSON once opened)."""
    timeout_seconds: int | None = None
    """The webhook's own attempt timeout; None: the sender's."""
    send_by: datetime | None = None
    """A rate-limited webhook's: not sent after this, but given back (its lease was
    counted in a window that has passed; sent late it could crowd the next one)."""
    rate_limit_per_second: int | None = None
    """The webhook's rate limit, read with the claim: a claim of webhooks without one
    asks nothing more (``store.ratelimit.admit``)."""


@dataclass(frozen=True)
class InFlight:
    """What a worker claiming knows of the per-webhook in-flight cap's other side: its
    own deliveries in flight per webhook, and since when a peer must have beaten to
    count (the peers' own counts are on their ``workers`` rows).

    On PostgreSQL counting in-flight rows in ``deliveries`` at every claim read every
    row version that a claim made and a settle left dead since the last vacuum,
    whenever the planner chose a bitmap scan; with these the claim reads no delivery
    to count them."""

    mine: Mapping[str, int]
    peers_alive_since: datetime


@dataclass(frozen=True)
class Round:
    """What a worker's database round answers: the deliveries it leased and, when it
    asked to ``peek`` and leased none, the queue's next due time as that same
    transaction saw it (``peeked``; ``None`` then means nothing is pending)."""

    leased: list[DueDelivery]
    peeked: bool = False
    next_due_at: datetime | None = None


@dataclass(frozen=True)
class Attempt:
    number: int
    trigger: AttemptTrigger
    started_at: datetime
    latency_ms: float
    status_code: int | None
    error: str | None
    error_detail: str | None
    response_body: str
    response_headers: str = ""


@dataclass(frozen=True)
class Delivery:
    id: str
    event_id: str
    webhook_id: str
    platform_id: str
    topic: str
    idempotency_key: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    attempt_log: tuple[Attempt, ...] = ()
    is_test: bool = False
    """A test send's delivery (``CrescLab-Test: true``), never a real event's."""


@dataclass(frozen=True)
class Event:
    id: str
    platform_id: str
    topic: str
    producer_id: str | None
    body: bytes
    occurred_at: datetime
    received_at: datetime
    is_test: bool
    deliveries: tuple[Delivery, ...] = ()


@dataclass(frozen=True)
class Settlement:
    """The result of one attempt, ready to be written back to the delivery row."""

    delivery_id: str
    webhook_id: str
    attempt: Attempt
    state: DeliveryState
    next_attempt_at: datetime | None
    pause_until: datetime | None = None
    """A 429/503 with Retry-After: the webhook's other deliveries wait until then too."""
