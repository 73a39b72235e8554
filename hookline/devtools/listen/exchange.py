"""What ``hookline listen`` saw of one request, and what it did about it.

Kept apart from the server and the printer so that both, and the tests, share one
record: the server fills it in, the printer and the tests only read it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from hookline.receiver import idempotency_key, is_test


@dataclass(frozen=True)
class Forwarded:
    """What the engineer's app answered to the forwarded copy of a request."""

    url: str
    status: int | None
    """``None`` when no answer came (refused, timeout); ``error`` says why."""
    latency_ms: int
    body: bytes = b""
    content_type: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Exchange:
    """One request the listener received, and everything it did about it."""

    received_at: datetime
    method: str
    path: str
    headers: Mapping[str, str]
    """Case-insensitive, as received."""
    body: bytes
    status: int
    """What the listener answered."""
    failure: str | None = None
    """Why verification failed (``None``: the request is genuine)."""
    failure_code: str | None = None
    verified_by: tuple[str, ...] = ()
    """The signature schemes that passed: ``maac`` (CrescLab-Signature), ``standard``."""
    duplicate_of: datetime | None = None
    """When the first request with the same idempotency key arrived, for a repeat."""
    duplicate_status: int | None = None
    """What the listener answered to that first request."""
    payload_problem: str | None = None
    """Why a genuine body does not fit its topic's shape (a receiver's parse would fail)."""
    simulated_failure: bool = False
    forwarded: Forwarded | None = None

    @property
    def verified(self) -> bool:
        return self.failure is None

    @property
    def idempotency_key(self) -> str | None:
        """``CrescLab-Idempotency-Key`` (or ``webhook-id``): what a receiver dedupes by."""
        return idempotency_key(self.headers)

    @property
    def test(self) -> bool:
        """Whether ``CrescLab-Test: true`` marks a "Send test" from the dashboard or API."""
        return is_test(self.headers)

    @cached_property
    def payload(self) -> Any:
        """The body as JSON, or ``None`` when it is not JSON (read once, then kept)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def topic(self) -> str | None:
        payload = self.payload
        topic = payload.get("topic") if isinstance(payload, dict) else None
        return topic if isinstance(topic, str) else None


OnRequest = Callable[[Exchange], None]
