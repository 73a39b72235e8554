"""Reading the audit log (``platforms.record_audit`` writes it): newest first, filtered.

Ids are time-ordered, so "newest first" is the primary key read backwards and a page
boundary is simply an id. A user's email is joined in for display; a deleted user's
entries stay, naming only the id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from hookline.store.tables import audit_log, users


@dataclass(frozen=True)
class AuditEntry:
    id: str
    platform_id: str | None
    actor_kind: str
    actor_id: str
    actor_email: str | None
    action: str
    target_id: str | None
    ip: str | None
    user_agent: str | None
    created_at: datetime


@dataclass(frozen=True)
class AuditFilter:
    platform_id: str | None = None
    """``None`` reads every platform's entries (and those of no platform): operators only."""
    action: str | None = None
    """An action or its prefix before ``:`` or ``.``: ``webhook`` matches ``webhook.stop``."""
    since: datetime | None = None
    until: datetime | None = None


def list_entries(
    conn: Connection, wanted: AuditFilter, *, before_id: str | None, limit: int
) -> list[AuditEntry]:
    query = select(audit_log, users.c.email).outerjoin(
        users, (audit_log.c.actor_kind == "user") & (users.c.id == audit_log.c.actor_id)
    )
    if wanted.platform_id is not None:
        query = query.where(audit_log.c.platform_id == wanted.platform_id)
    if wanted.action:
        query = query.where(
            (audit_log.c.action == wanted.action)
            | audit_log.c.action.startswith(wanted.action + ".", autoescape=True)
            | audit_log.c.action.startswith(wanted.action + ":", autoescape=True)
        )
    if wanted.since is not None:
        query = query.where(audit_log.c.created_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(audit_log.c.created_at < wanted.until)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    rows = conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit)).all()
    return [
        AuditEntry(
            id=r.id,
            platform_id=r.platform_id,
            actor_kind=r.actor_kind,
            actor_id=r.actor_id,
            actor_email=r.email,
            action=r.action,
            target_id=r.target_id,
            ip=r.ip,
            user_agent=r.user_agent,
            created_at=r.created_at,
        )
        for r in rows
    ]
