"""Portal links: one-use sign-in links, kept as the SHA-256 of their token."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from sqlalchemy import Connection, insert, select, update

from hookline.store.tables import portal_links


class Refusal(Enum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


def insert_link(
    conn: Connection,
    *,
    token_hash: str,
    platform_id: str,
    user_id: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    conn.execute(
        insert(portal_links).values(
            token_hash=token_hash,
            platform_id=platform_id,
            user_id=user_id,
            created_at=now,
            expires_at=expires_at,
        )
    )


def use_link(conn: Connection, token_hash: str, now: datetime) -> str | Refusal:
    """The link's user id, the link now spent; or why it signs nobody in.

    Spending is one guarded UPDATE, so of two requests racing with the same link only
    one gets a user.
    """
    spent = conn.execute(
        update(portal_links)
        .where(
            portal_links.c.token_hash == token_hash,
            portal_links.c.used_at.is_(None),
            portal_links.c.expires_at > now,
        )
        .values(used_at=now)
        .returning(portal_links.c.user_id)
    ).first()
    if spent is not None:
        return str(spent.user_id)
    row = conn.execute(select(portal_links).where(portal_links.c.token_hash == token_hash)).first()
    if row is None:
        return Refusal.UNKNOWN
    return Refusal.USED if row.used_at is not None else Refusal.EXPIRED


def purge_links(conn: Connection, before: datetime) -> int:
    """Links that expired before ``before`` say nothing any more."""
    return int(
        conn.execute(portal_links.delete().where(portal_links.c.expires_at < before)).rowcount
    )
