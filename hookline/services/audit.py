"""Who did what, when and from where: the audit log as members and operators read it.

A member or a platform token reads its own platform's entries only; an operator reads
everyone's and may narrow them to one platform. What is recorded is decided where the
change happens (services.webhooks, platforms, users): reveals, rotations, creates,
edits, stops, resumes, deletes, zone and limit changes, tokens, users.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from hookline.domain.errors import InvalidInput
from hookline.services.context import Context
from hookline.services.paging import decode_cursor, encode_cursor
from hookline.services.platforms import get_platform
from hookline.services.validation import clean_moment, clean_text
from hookline.store import audit as store
from hookline.store.audit import AuditEntry, AuditFilter

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_ACTION_LENGTH = 64

__all__ = ["AuditEntry", "AuditFilter", "AuditPage", "audit_filter", "read"]


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEntry]
    next_cursor: str | None


def audit_filter(
    *,
    platform_id: str | None,
    action: str | None = None,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    timezone: str = "UTC",
) -> AuditFilter:
    """The checked filter; ``platform_id`` is the caller's scope, decided by the caller."""
    if action is not None:
        action = clean_text(action, "action").strip() or None
        if action is not None and len(action) > MAX_ACTION_LENGTH:
            raise InvalidInput.single(
                "action", "too_long", f"action must be at most {MAX_ACTION_LENGTH} characters."
            )
    return AuditFilter(
        platform_id=platform_id,
        action=action,
        since=clean_moment(since, timezone, "since"),
        until=clean_moment(until, timezone, "until"),
    )


def platform_timezone(ctx: Context, platform_id: str) -> str:
    """The platform's time zone (dates in a filter are its midnights); 404 if unknown."""
    return get_platform(ctx, clean_text(platform_id, "platform_id")).timezone


def read(
    ctx: Context, wanted: AuditFilter, *, cursor: str | None = None, limit: int = DEFAULT_PAGE_SIZE
) -> AuditPage:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput.single(
            "limit", "out_of_range", f"limit must be between 1 and {MAX_PAGE_SIZE}."
        )
    before = decode_cursor(cursor, "aud_") if cursor else None
    with ctx.db.read() as conn:
        found = store.list_entries(conn, wanted, before_id=before, limit=limit + 1)
    items = found[:limit]
    more = len(found) > limit
    return AuditPage(items, encode_cursor(items[-1].id) if more else None)
