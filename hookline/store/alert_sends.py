"""The alerts still to send, taken one at a time so no worker sends one twice.

A send is claimed by moving its ``next_attempt_at`` forward by a lease, guarded by
the value it was read with: of two workers reading the same due row, only one update
matches. The claim is committed before sending, so a worker that dies mid-send lets
the row come back when the lease ends; one that sent marks it ``sent``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from hookline.domain.incidents import Channel, Kind, SendState
from hookline.store.tables import alert_sends, alert_settings, incidents, platforms, users

OPS = "ops"


@dataclass(frozen=True)
class DueSend:
    incident_id: str
    channel: Channel
    recipient: str
    attempts: int
    kind: Kind
    platform_id: str
    platform_name: str
    data: dict[str, Any]
    created_at: datetime
    email: str | None
    """The recipient's address now, for email; None when they left or turned alerts off."""
    language: str | None


def _key(row: Any) -> Any:
    return (
        (alert_sends.c.incident_id == row.incident_id)
        & (alert_sends.c.channel == row.channel)
        & (alert_sends.c.recipient == row.recipient)
    )


def claim_due(conn: Connection, now: datetime, lease: timedelta, limit: int) -> list[DueSend]:
    """Up to ``limit`` due sends, each now this caller's for ``lease``."""
    rows = conn.execute(
        select(
            alert_sends,
            incidents.c.kind,
            incidents.c.platform_id,
            incidents.c.data,
            incidents.c.created_at,
            platforms.c.name.label("platform_name"),
            users.c.email,
            users.c.email_alerts,
            users.c.language,
        )
        .join(incidents, incidents.c.id == alert_sends.c.incident_id)
        .join(platforms, platforms.c.id == incidents.c.platform_id)
        .outerjoin(users, users.c.id == alert_sends.c.recipient)
        .where(
            alert_sends.c.state == SendState.PENDING.value,
            alert_sends.c.next_attempt_at <= now,
        )
        .order_by(alert_sends.c.next_attempt_at)
        .limit(limit)
    ).all()
    claimed = []
    for row in rows:
        taken = conn.execute(
            update(alert_sends)
            .where(_key(row), alert_sends.c.next_attempt_at == row.next_attempt_at)
            .values(next_attempt_at=now + lease)
        ).rowcount
        if taken == 1:
            claimed.append(
                DueSend(
                    incident_id=row.incident_id,
                    channel=Channel(row.channel),
                    recipient=row.recipient,
                    attempts=row.attempts,
                    kind=Kind(row.kind),
                    platform_id=row.platform_id,
                    platform_name=row.platform_name,
                    data=json.loads(row.data),
                    created_at=row.created_at,
                    email=row.email if row.email_alerts else None,
                    language=row.language,
                )
            )
    return claimed


def settle(
    conn: Connection,
    send: DueSend,
    state: SendState,
    now: datetime,
    *,
    retry_at: datetime | None = None,
    error: str | None = None,
) -> None:
    """Record one try: sent, skipped, abandoned, or failed and due again at ``retry_at``."""
    failed = error is not None
    conn.execute(
        update(alert_sends)
        .where(_key(send))
        .values(
            state=state.value,
            attempts=alert_sends.c.attempts + (1 if failed or state is SendState.SENT else 0),
            next_attempt_at=retry_at,
            sent_at=now if state is SendState.SENT else None,
            last_error=None if error is None else error[:300],
        )
    )


@dataclass(frozen=True)
class OpsHook:
    url: str
    secret_ciphertext: str
    updated_at: datetime


def get_ops_hook(conn: Connection) -> OpsHook | None:
    row = conn.execute(select(alert_settings).where(alert_settings.c.id == OPS)).first()
    if row is None or row.webhook_url is None or row.secret_ciphertext is None:
        return None
    return OpsHook(row.webhook_url, row.secret_ciphertext, row.updated_at)


def set_ops_hook(
    conn: Connection, url: str | None, secret_ciphertext: str | None, now: datetime
) -> None:
    """Set (or with None, clear) the operator's operational-webhook URL and secret."""
    values = {"webhook_url": url, "secret_ciphertext": secret_ciphertext, "updated_at": now}
    done = conn.execute(
        update(alert_settings).where(alert_settings.c.id == OPS).values(**values)
    ).rowcount
    if not done:
        conn.execute(alert_settings.insert().values(id=OPS, **values))


def set_user_alerts(
    conn: Connection, user_id: str, *, email_alerts: bool | None, language: str | None
) -> bool:
    """A user's own alert choices; False when there is no such user."""
    values: dict[str, object] = {}
    if email_alerts is not None:
        values["email_alerts"] = email_alerts
    if language is not None:
        values["language"] = language
    statement = update(users).where(users.c.id == user_id)
    if values:
        statement = statement.values(**values)
        return bool(conn.execute(statement).rowcount)
    return conn.scalar(select(users.c.id).where(users.c.id == user_id)) is not None


def user_alerts(conn: Connection, user_id: str) -> tuple[bool, str | None] | None:
    row = conn.execute(
        select(users.c.email_alerts, users.c.language).where(users.c.id == user_id)
    ).first()
    return None if row is None else (bool(row.email_alerts), row.language)


def remember_language(conn: Connection, user_id: str, language: str) -> None:
    """The user's email language, unless they already chose one."""
    conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.language.is_(None))
        .values(language=language)
    )
