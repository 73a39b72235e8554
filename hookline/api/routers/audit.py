"""``GET /v1/audit``: a platform token reads its platform's entries, the operator all."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hookline.api.deps import Credentials, Ctx, bearer_token
from hookline.api.openapi import STORAGE_UNAVAILABLE, Answers
from hookline.api.schemas.audit import AuditEntryOut, AuditLog
from hookline.api.schemas.common import SAFE_PATTERN, Moment
from hookline.domain import secrets
from hookline.domain.errors import InvalidInput, PlatformNotFound, Unauthorized
from hookline.http.deps import WiringDep
from hookline.services import audit, platforms

answers = Answers(Unauthorized, InvalidInput, STORAGE_UNAVAILABLE)
router = APIRouter(prefix="/v1", tags=["audit"], responses=answers())
PAGE_SIZE = {"minimum": 1, "maximum": audit.MAX_PAGE_SIZE}


def audit_scope(ctx: Ctx, wiring: WiringDep, credentials: Credentials) -> str | None:
    """``None`` for the operator (every platform), else the platform token's own platform."""
    token = bearer_token(credentials)
    expected = wiring.operator_token
    if expected and secrets.tokens_equal(token, expected):
        return None
    return platforms.authenticate(ctx, token).platform_id


Scope = Annotated[str | None, Depends(audit_scope)]


@router.get("/audit", responses=answers(PlatformNotFound))
def read_audit(
    ctx: Ctx,
    scope: Scope,
    platform_id: Annotated[
        str | None,
        Query(
            description="Operator token: one platform's entries. A platform token may name"
            " only its own (another is not found, as everywhere in the API).",
            json_schema_extra={"pattern": SAFE_PATTERN},
        ),
    ] = None,
    action: Annotated[
        str | None,
        Query(
            description="An action, or its prefix before '.' or ':' (webhook, zone.set).",
            json_schema_extra={"maxLength": audit.MAX_ACTION_LENGTH, "pattern": SAFE_PATTERN},
        ),
    ] = None,
    since: Annotated[Moment | None, Query()] = None,
    until: Annotated[Moment | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(json_schema_extra=PAGE_SIZE)] = audit.DEFAULT_PAGE_SIZE,
) -> AuditLog:
    """Reveals, rotations, creates, edits, stops, deletes, zone and limit changes: newest first."""
    timezone = "UTC"
    if scope is not None:
        if platform_id is not None and platform_id != scope:
            audit.platform_timezone(ctx, platform_id)  # a malformed id: 422 naming it
            raise platforms.platform_not_found(platform_id)  # another's: never confirmed
        platform_id = scope
    if platform_id is not None:
        timezone = audit.platform_timezone(ctx, platform_id)
    wanted = audit.audit_filter(
        platform_id=platform_id, action=action, since=since, until=until, timezone=timezone
    )
    page = audit.read(ctx, wanted, cursor=cursor, limit=limit)
    return AuditLog(data=[AuditEntryOut.of(e) for e in page.items], next_cursor=page.next_cursor)
