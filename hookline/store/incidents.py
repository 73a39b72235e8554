"""Finding incidents in the webhooks' and zones' state, and recording each once.

Detection reads first and writes only when it found something new, so the periodic
pass costs a few indexed reads. A new incident and its ``alert_sends`` rows (one per
recipient and channel) are written in one transaction; its ``dedup_key`` is unique,
so two workers recording the same incident leave one row and one set of sends.
The rules (what counts as failing, which warnings a zone gets) are
``domain.incidents``'.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hookline.domain import incidents as rules
from hookline.domain.deliveries import DeliveryState
from hookline.domain.ids import new_id
from hookline.domain.incidents import Channel, Kind, NewIncident, SendState
from hookline.domain.models import Role, StopReason, WebhookStatus
from hookline.store.tables import (
    alert_sends,
    alert_settings,
    deliveries,
    incidents,
    platform_zones,
    users,
    webhooks,
)

WORKING = WebhookStatus.WORKING.value
ENGINE_STOPS = (StopReason.GONE.value, StopReason.FAILING.value)


def _webhook(row: Any) -> dict[str, Any]:
    return {"webhook_id": row.id, "webhook_name": row.name, "url": row.url}


def _open(kind: Kind) -> Any:
    """An unresolved incident of ``kind`` about the webhook of the outer query."""
    return exists().where(
        incidents.c.subject_id == webhooks.c.id,
        incidents.c.kind == kind.value,
        incidents.c.resolved_at.is_(None),
    )


def failing_now(conn: Connection, now: datetime) -> list[NewIncident]:
    """Working webhooks failing 30 minutes, or with a delivery failed for good since."""
    spent = exists().where(
        deliveries.c.webhook_id == webhooks.c.id,
        deliveries.c.state == DeliveryState.FAILED.value,
        deliveries.c.completed_at >= webhooks.c.failing_since,
    )
    rows = conn.execute(
        select(webhooks).where(
            webhooks.c.failing_since.is_not(None),
            webhooks.c.status == WORKING,
            webhooks.c.deleted_at.is_(None),
            or_(webhooks.c.failing_since <= now - rules.FAILING_AFTER, spent),
            ~_open(Kind.FAILING),
        )
    ).all()
    return [rules.failing(r.platform_id, _webhook(r), r.failing_since) for r in rows]


def stopped_now(conn: Connection, now: datetime) -> list[NewIncident]:
    """Webhooks the engine stopped (410, failing too long) lately, not yet told."""
    rows = conn.execute(
        select(webhooks).where(
            webhooks.c.status != WORKING,
            webhooks.c.stop_reason.in_(ENGINE_STOPS),
            webhooks.c.deleted_at.is_(None),
            webhooks.c.updated_at >= now - rules.STOP_LOOKBACK,
            ~_open(Kind.STOPPED),
        )
    ).all()
    return [rules.stopped(r.platform_id, _webhook(r), r.stop_reason, r.updated_at) for r in rows]


def open_webhook_incidents(conn: Connection) -> list[Any]:
    """Unresolved failing and stopped incidents with their webhook's state now."""
    return list(
        conn.execute(
            select(
                incidents.c.id.label("incident_id"),
                incidents.c.kind,
                incidents.c.data,
                webhooks,
            )
            .join(webhooks, webhooks.c.id == incidents.c.subject_id)
            .where(
                incidents.c.kind.in_([Kind.FAILING.value, Kind.STOPPED.value]),
                incidents.c.resolved_at.is_(None),
            )
        ).all()
    )


def settle_open(rows: Sequence[Any]) -> tuple[list[str], list[NewIncident]]:
    """Which open incidents are over, and the recoveries to tell.

    A failing period is over when its webhook succeeded (``failing_since`` cleared or
    restarted: told as recovered) or stopped or was deleted (the stop is its own
    incident). A stop is over when its webhook works again or is deleted.
    """
    over: list[str] = []
    told: list[NewIncident] = []
    for row in rows:
        working = row.status == WORKING and row.deleted_at is None
        if row.kind == Kind.STOPPED.value:
            if working or row.deleted_at is not None:
                over.append(row.incident_id)
            continue
        since = json.loads(row.data)["failing_since"]
        still = row.failing_since is not None and rules.iso(row.failing_since) == since
        if working and not still:
            told.append(rules.recovered(row.platform_id, _webhook(row), since))
        if not (working and still):
            over.append(row.incident_id)
    return over, told


def zones_expiring(conn: Connection, now: datetime) -> list[NewIncident]:
    longest = max(rules.ZONE_WARNINGS)
    rows = conn.execute(
        select(platform_zones).where(
            platform_zones.c.valid_until > now, platform_zones.c.valid_until <= now + longest
        )
    ).all()
    found = []
    for r in rows:
        warning = rules.zone_warning(now, r.valid_until)
        if warning is not None:
            found.append(rules.zone_expiring(r.platform_id, r.zone, r.valid_until, warning))
    return found


def unknown(conn: Connection, found: Iterable[NewIncident]) -> list[NewIncident]:
    """The incidents among ``found`` not recorded yet (a read, before any write)."""
    wanted = {i.dedup_key: i for i in found}
    if not wanted:
        return []
    known = set(
        conn.scalars(select(incidents.c.dedup_key).where(incidents.c.dedup_key.in_(list(wanted))))
    )
    return [i for key, i in wanted.items() if key not in known]


def resolve(conn: Connection, incident_ids: Sequence[str], now: datetime) -> None:
    if incident_ids:
        conn.execute(
            update(incidents)
            .where(incidents.c.id.in_(list(incident_ids)), incidents.c.resolved_at.is_(None))
            .values(resolved_at=now)
        )


def record(conn: Connection, incident: NewIncident, now: datetime) -> str | None:
    """Insert ``incident`` and its sends; None when another worker recorded it first."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    incident_id = new_id("inc")
    row = conn.execute(
        dialect_insert(incidents)
        .values(
            id=incident_id,
            dedup_key=incident.dedup_key,
            kind=incident.kind.value,
            platform_id=incident.platform_id,
            subject_id=incident.subject_id,
            data=json.dumps(incident.data, allow_nan=False),
            created_at=now,
            resolved_at=None if incident.kind in (Kind.FAILING, Kind.STOPPED) else now,
        )
        .on_conflict_do_nothing(index_elements=[incidents.c.dedup_key])
        .returning(incidents.c.id)
    ).first()
    if row is None:
        return None
    sends = [
        {"channel": Channel.EMAIL.value, "recipient": user_id}
        for user_id in _email_recipients(conn, incident.platform_id)
    ]
    if conn.scalar(select(alert_settings.c.webhook_url).where(alert_settings.c.id == "ops")):
        sends.append({"channel": Channel.WEBHOOK.value, "recipient": rules.OPS_RECIPIENT})
    if sends:
        conn.execute(
            insert(alert_sends),
            [
                {
                    **s,
                    "incident_id": incident_id,
                    "state": SendState.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for s in sends
            ],
        )
    return incident_id


def _email_recipients(conn: Connection, platform_id: str) -> list[str]:
    """The platform's members and every operator who left email alerts on."""
    return list(
        conn.scalars(
            select(users.c.id)
            .where(
                users.c.email_alerts.is_(True),
                or_(
                    users.c.platform_id == platform_id,
                    and_(users.c.role == Role.OPERATOR.value, users.c.platform_id.is_(None)),
                ),
            )
            .order_by(users.c.id)
        )
    )


def purge(conn: Connection, before: datetime) -> int:
    """Incidents over (resolved) before ``before``, with their sends; answers how many.

    Open ones stay whatever their age: they are what stops a failing period from being
    told twice.
    """
    old = select(incidents.c.id).where(
        incidents.c.resolved_at.is_not(None), incidents.c.resolved_at < before
    )
    conn.execute(alert_sends.delete().where(alert_sends.c.incident_id.in_(old)))
    return int(conn.execute(incidents.delete().where(incidents.c.id.in_(old))).rowcount)
