"""SurveyCake rows: each platform's intake token, connected surveys, notifications.

Notifications are a small queue of their own, leased like deliveries: a claim sets
``in_flight`` with an owner and an expiry, and a row whose lease ran out, or whose
worker stopped beating (``workers``: killed, its lease still running), is claimable
again. A settle only lands while the lease is still the claimer's, so a slow worker
whose row was taken over cannot overwrite the new result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from hookline.store.bulk import insert_rows
from hookline.store.tables import (
    surveycake_intakes,
    surveycake_notifications,
    surveycake_surveys,
)
from hookline.store.workers import lease_void

PENDING = "pending"
IN_FLIGHT = "in_flight"
PUBLISHED = "published"
NOT_LINKED = "not_linked"
FAILED = "failed"
UNKNOWN_SURVEY = "unknown_survey"
STATES = (PENDING, IN_FLIGHT, PUBLISHED, NOT_LINKED, FAILED, UNKNOWN_SURVEY)

N = surveycake_notifications
S = surveycake_surveys


@dataclass(frozen=True)
class SurveyRow:
    id: str
    platform_id: str
    svid: str
    name: str | None
    keys_ciphertext: str
    base_url: str
    last_error: str | None
    last_error_detail: str | None
    last_error_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class NotificationRow:
    id: str
    platform_id: str
    svid: str
    answer_hash: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    error: str | None
    error_detail: str | None
    event_id: str | None
    answer: str | None
    received_at: datetime
    updated_at: datetime


def _survey(row: Any) -> SurveyRow:
    return SurveyRow(**{f: getattr(row, f) for f in SurveyRow.__dataclass_fields__})


def _notification(row: Any) -> NotificationRow:
    return NotificationRow(**{f: getattr(row, f) for f in NotificationRow.__dataclass_fields__})


# -- intake tokens ---------------------------------------------------------------------


def intake_ciphertext(conn: Connection, platform_id: str) -> str | None:
    return conn.execute(
        select(surveycake_intakes.c.token_ciphertext).where(
            surveycake_intakes.c.platform_id == platform_id
        )
    ).scalar_one_or_none()


def save_intake(
    conn: Connection, platform_id: str, token_hash: str, ciphertext: str, now: datetime
) -> None:
    """The platform's intake token, replacing any earlier one (the old URL stops)."""
    conn.execute(delete(surveycake_intakes).where(surveycake_intakes.c.platform_id == platform_id))
    insert_rows(
        conn,
        surveycake_intakes,
        [
            {
                "platform_id": platform_id,
                "token_hash": token_hash,
                "token_ciphertext": ciphertext,
                "created_at": now,
            }
        ],
    )


def platform_of_intake(conn: Connection, token_hash: str) -> str | None:
    return conn.execute(
        select(surveycake_intakes.c.platform_id).where(
            surveycake_intakes.c.token_hash == token_hash
        )
    ).scalar_one_or_none()


# -- surveys -------------------------------------------------------------------------


def insert_survey(conn: Connection, row: dict[str, Any]) -> None:
    insert_rows(conn, S, [row])


def get_survey(conn: Connection, platform_id: str, svid: str) -> SurveyRow | None:
    row = conn.execute(select(S).where(S.c.platform_id == platform_id, S.c.svid == svid)).first()
    return None if row is None else _survey(row)


def list_surveys(conn: Connection, platform_id: str) -> list[SurveyRow]:
    rows = conn.execute(select(S).where(S.c.platform_id == platform_id).order_by(S.c.id))
    return [_survey(r) for r in rows]


def delete_survey(conn: Connection, survey_id: str) -> None:
    conn.execute(delete(S).where(S.c.id == survey_id))


def record_survey_error(
    conn: Connection,
    platform_id: str,
    svid: str,
    code: str | None,
    detail: str | None,
    now: datetime,
) -> None:
    """The survey's last failure (None clears it: the last answer went through)."""
    conn.execute(
        update(S)
        .where(S.c.platform_id == platform_id, S.c.svid == svid)
        .values(
            last_error=code,
            last_error_detail=detail,
            last_error_at=now if code else None,
            updated_at=now,
        )
    )


# -- notifications -------------------------------------------------------------------


def insert_notification(conn: Connection, row: dict[str, Any]) -> NotificationRow:
    """Insert unless this platform already has the same svid + hash; answers the stored row."""
    insert_rows(conn, N, [row], skip_conflicts=True)
    stored = conn.execute(
        select(N).where(
            N.c.platform_id == row["platform_id"],
            N.c.svid == row["svid"],
            N.c.answer_hash == row["answer_hash"],
        )
    ).one()
    return _notification(stored)


def count_in_state(conn: Connection, platform_id: str, state: str) -> int:
    return int(
        conn.execute(
            select(func.count()).where(N.c.platform_id == platform_id, N.c.state == state)
        ).scalar_one()
    )


def requeue_unknown(conn: Connection, platform_id: str, svid: str, now: datetime) -> int:
    """Notifications that came before their survey was connected: due now."""
    done = conn.execute(
        update(N)
        .where(N.c.platform_id == platform_id, N.c.svid == svid, N.c.state == UNKNOWN_SURVEY)
        .values(state=PENDING, next_attempt_at=now, error=None, error_detail=None, updated_at=now)
    )
    return int(done.rowcount or 0)


def _due(now: datetime, dead_before: datetime | None, alive: str | None) -> Any:
    lapsed = lease_void(
        N.c.lease_owner, N.c.lease_expires_at, now, dead_before=dead_before, alive=alive
    )
    return or_(
        and_(N.c.state == PENDING, N.c.next_attempt_at <= now),
        and_(N.c.state == IN_FLIGHT, lapsed),
    )


def any_due(
    conn: Connection,
    now: datetime,
    *,
    dead_before: datetime | None = None,
    alive: str | None = None,
) -> bool:
    """A read before the claim: an idle worker never takes the write lock to find nothing."""
    due = _due(now, dead_before, alive)
    return conn.execute(select(N.c.id).where(due).limit(1)).first() is not None


def purge(conn: Connection, before: datetime, limit: int = 1000) -> int:
    """Forget settled notifications (and the answers kept with them) older than ``before``."""
    settled = (PUBLISHED, NOT_LINKED, FAILED, UNKNOWN_SURVEY)
    ids = list(
        conn.execute(
            select(N.c.id).where(N.c.state.in_(settled), N.c.updated_at < before).limit(limit)
        ).scalars()
    )
    if ids:
        conn.execute(delete(N).where(N.c.id.in_(ids)))
    return len(ids)


def claim(
    conn: Connection,
    *,
    owner: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    dead_before: datetime | None = None,
    alive: str | None = None,
) -> list[NotificationRow]:
    """Lease up to ``limit`` due notifications: pending and due, or leased by the dead:
    their lease ran out or, with ``dead_before``, their worker stopped beating
    (``workers.lease_void``, as for deliveries)."""
    due = _due(now, dead_before, alive)
    query = select(N.c.id).where(due).order_by(N.c.next_attempt_at).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(conn.execute(query).scalars())
    if not ids:
        return []
    conn.execute(
        update(N)
        .where(N.c.id.in_(ids))
        .values(
            state=IN_FLIGHT,
            lease_owner=owner,
            lease_expires_at=lease_until,
            attempts=N.c.attempts + 1,
            updated_at=now,
        )
    )
    return [_notification(r) for r in conn.execute(select(N).where(N.c.id.in_(ids)))]


def settle(conn: Connection, notification_id: str, owner: str, values: dict[str, Any]) -> bool:
    """Write a claimed notification's outcome; False when its lease was taken over."""
    done = conn.execute(
        update(N)
        .where(N.c.id == notification_id, N.c.state == IN_FLIGHT, N.c.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=None, **values)
    )
    return bool(done.rowcount)


def next_due_at(conn: Connection) -> datetime | None:
    return conn.execute(
        select(func.min(N.c.next_attempt_at)).where(N.c.state == PENDING)
    ).scalar_one_or_none()


def list_notifications(
    conn: Connection,
    platform_id: str,
    *,
    states: Sequence[str] = (),
    svid: str | None = None,
    limit: int = 50,
) -> list[NotificationRow]:
    """Newest first."""
    query = select(N).where(N.c.platform_id == platform_id)
    if states:
        query = query.where(N.c.state.in_(list(states)))
    if svid is not None:
        query = query.where(N.c.svid == svid)
    rows = conn.execute(query.order_by(N.c.id.desc()).limit(limit))
    return [_notification(r) for r in rows]


def latest_hash(conn: Connection, platform_id: str, svid: str) -> str | None:
    """The newest answer hash SurveyCake sent for this survey (to check its keys against)."""
    return conn.execute(
        select(N.c.answer_hash)
        .where(N.c.platform_id == platform_id, N.c.svid == svid)
        .order_by(N.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()
