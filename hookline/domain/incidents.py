"""Incidents: what is worth telling a platform's people, and how each is told once.

An incident is a change in a webhook's or a zone's state that somebody should act on:
a webhook starts failing, recovers, is stopped by the engine, or a zone's purchase is
about to end. Each has a ``dedup_key`` derived only from the state that caused it, so
every worker that notices the same state computes the same key and the database's
unique constraint keeps one row: "told once", however many workers look.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

FAILING_AFTER = timedelta(minutes=30)
"""Attempts failing with no success this long makes a webhook "failing" (with or
without a delivery whose retries are spent)."""
STOP_LOOKBACK = timedelta(days=1)
"""A stop older than this when first seen is not told: a worker started after a long
pause (or the first start after an upgrade) does not announce old news."""
ZONE_WARNINGS = (timedelta(days=7), timedelta(days=1))
"""How long before a zone's "purchase valid until" its members are warned, longest first."""
SEND_DELAYS = (10, 30, 60, 300, 900, 1800, 3600)
"""Seconds between tries of one alert whose SMTP server or receiver failed; after the
last, every hour, for ``SEND_GIVE_UP`` tries in all."""
SEND_GIVE_UP = 30
KEEP_FOR = timedelta(days=90)
"""Incidents over for this long are purged, with the record of who was told."""


class Kind(enum.StrEnum):
    """Also the ``type`` of the operational webhook that tells it."""

    FAILING = "webhook.failing"
    RECOVERED = "webhook.recovered"
    STOPPED = "webhook.stopped"
    ZONE_EXPIRING = "zone.expiring"


class Channel(enum.StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class SendState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"
    """The recipient turned email alerts off, or is gone, before it was sent."""
    ABANDONED = "abandoned"


OPS_RECIPIENT = "ops"
"""The recipient of the operator's operational webhook (one URL per installation)."""


@dataclass(frozen=True)
class NewIncident:
    kind: Kind
    platform_id: str
    subject_id: str
    dedup_key: str
    data: Mapping[str, Any]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def failing(platform_id: str, webhook: Mapping[str, Any], since: datetime) -> NewIncident:
    return NewIncident(
        Kind.FAILING,
        platform_id,
        webhook["webhook_id"],
        f"{Kind.FAILING}:{webhook['webhook_id']}:{iso(since)}",
        {**webhook, "failing_since": iso(since)},
    )


def recovered(platform_id: str, webhook: Mapping[str, Any], since: str) -> NewIncident:
    """``since`` is the failing incident's own ``failing_since``: one recovery per failure."""
    return NewIncident(
        Kind.RECOVERED,
        platform_id,
        webhook["webhook_id"],
        f"{Kind.RECOVERED}:{webhook['webhook_id']}:{since}",
        {**webhook, "failing_since": since},
    )


def stopped(platform_id: str, webhook: Mapping[str, Any], reason: str, at: datetime) -> NewIncident:
    return NewIncident(
        Kind.STOPPED,
        platform_id,
        webhook["webhook_id"],
        f"{Kind.STOPPED}:{webhook['webhook_id']}:{iso(at)}",
        {**webhook, "stop_reason": reason, "stopped_at": iso(at)},
    )


def zone_warning(now: datetime, valid_until: datetime) -> timedelta | None:
    """The shortest warning ``valid_until`` is inside of, or None (not yet, or past).

    Only the shortest is told: a zone first seen one day from its end is not also
    warned "seven days" late.
    """
    left = valid_until - now
    if left <= timedelta(0):
        return None
    inside = [w for w in ZONE_WARNINGS if left <= w]
    return min(inside) if inside else None


def zone_expiring(
    platform_id: str, zone: int, valid_until: datetime, warning: timedelta
) -> NewIncident:
    days = warning.days
    return NewIncident(
        Kind.ZONE_EXPIRING,
        platform_id,
        str(zone),
        f"{Kind.ZONE_EXPIRING}:{platform_id}:{zone}:{iso(valid_until)}:{days}d",
        {"zone": zone, "valid_until": iso(valid_until), "days_left": days},
    )


def next_try(attempts: int, now: datetime) -> datetime | None:
    """When an alert that failed ``attempts`` times is tried again; None: give up."""
    if attempts >= SEND_GIVE_UP:
        return None
    delay = SEND_DELAYS[min(attempts, len(SEND_DELAYS)) - 1] if attempts else 0
    return now + timedelta(seconds=delay)


def operational_body(
    kind: str, incident_id: str, platform_id: str, data: Mapping[str, Any], at: datetime
) -> bytes:
    """The operational webhook's body: Standard Webhooks' ``{type, timestamp, data}``."""
    document = {
        "type": kind,
        "timestamp": at.isoformat(timespec="microseconds"),
        "data": {"incident_id": incident_id, "platform_id": platform_id, **data},
    }
    return json.dumps(document, allow_nan=False).encode("ascii")
