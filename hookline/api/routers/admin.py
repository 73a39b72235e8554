"""Operator routes: platforms, zone purchases, limits, API tokens and dashboard users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from hookline.api.deps import Ctx, Operator
from hookline.api.openapi import BODY, STORAGE_UNAVAILABLE, Answers
from hookline.api.params import SafePath
from hookline.api.routers.platform import detail_of
from hookline.api.schemas.admin import (
    PlatformCreate,
    PlatformCreated,
    PlatformPatch,
    TokenCreated,
    UserCreate,
    UserOut,
    ZoneSet,
)
from hookline.api.schemas.platform import PlatformDetail, PlatformOut
from hookline.catalog import ZONES
from hookline.domain.errors import (
    EmailTaken,
    InvalidInput,
    PlatformNotFound,
    TokenNotFound,
    Unauthorized,
)
from hookline.domain.models import DEFAULT_TIMEZONE, DEFAULT_WEBHOOK_LIMIT, Role
from hookline.services import platforms, users

answers = Answers(Unauthorized, InvalidInput, STORAGE_UNAVAILABLE)
router = APIRouter(
    prefix="/v1/admin", tags=["operator"], dependencies=[SafePath], responses=answers()
)


@router.post("/platforms", status_code=201, responses=answers(*BODY))
def create_platform(body: PlatformCreate, ctx: Ctx, op: Operator) -> PlatformCreated:
    created = platforms.create_platform(
        ctx,
        body.name,
        timezone=body.timezone or DEFAULT_TIMEZONE,
        webhook_limit=DEFAULT_WEBHOOK_LIMIT if body.webhook_limit is None else body.webhook_limit,
        actor=op,
    )
    return PlatformCreated(
        **PlatformOut.of(created.platform).model_dump(), api_token=created.api_token
    )


@router.get("/platforms")
def list_platforms(ctx: Ctx, _op: Operator) -> list[PlatformDetail]:
    """Every platform, ordered by name."""
    return [detail_of(ov) for ov in platforms.list_platforms(ctx)]


@router.get("/platforms/{platform_id}", responses=answers(PlatformNotFound))
def get_platform(platform_id: str, ctx: Ctx, _op: Operator) -> PlatformDetail:
    return detail_of(platforms.overview(ctx, platform_id))


@router.patch("/platforms/{platform_id}", responses=answers(PlatformNotFound, *BODY))
def update_platform(
    platform_id: str, body: PlatformPatch, ctx: Ctx, op: Operator
) -> PlatformDetail:
    platforms.update_platform(
        ctx,
        platform_id,
        name=body.name,
        timezone=body.timezone,
        webhook_limit=body.webhook_limit,
        retry_policy=body.retry_policy,
        actor=op,
    )
    return detail_of(platforms.overview(ctx, platform_id))


@router.put("/platforms/{platform_id}/zones/{zone}", responses=answers(PlatformNotFound, *BODY))
def set_zone(
    platform_id: str,
    zone: Annotated[int, Path(json_schema_extra={"enum": list(ZONES)})],
    body: ZoneSet,
    ctx: Ctx,
    op: Operator,
) -> PlatformDetail:
    """Buy a zone, or change when it ends (the service refuses other zones: unknown_zone)."""
    platforms.set_zone(ctx, platform_id, zone, body.valid_until, actor=op)
    return detail_of(platforms.overview(ctx, platform_id))


@router.post(
    "/platforms/{platform_id}/tokens", status_code=201, responses=answers(PlatformNotFound)
)
def create_token(platform_id: str, ctx: Ctx, op: Operator) -> TokenCreated:
    token_id, token = platforms.create_token(ctx, platform_id, actor=op)
    return TokenCreated(id=token_id, token=token)


@router.delete(
    "/platforms/{platform_id}/tokens/{token_id}",
    status_code=204,
    responses=answers(PlatformNotFound, TokenNotFound),
)
def revoke_token(platform_id: str, token_id: str, ctx: Ctx, op: Operator) -> Response:
    platforms.revoke_token(ctx, platform_id, token_id, actor=op)
    return Response(status_code=204)


@router.post(
    "/platforms/{platform_id}/users",
    status_code=201,
    responses=answers(PlatformNotFound, EmailTaken, *BODY),
)
def create_user(platform_id: str, body: UserCreate, ctx: Ctx, actor: Operator) -> UserOut:
    """A dashboard member of this platform.

    Operators are created with the CLI only, so that the operator API token alone
    cannot mint logins that see every platform.
    """
    if body.role is not Role.MEMBER:
        raise InvalidInput.single(
            "role",
            "operator_via_cli",
            "role must be member here: create operators with `hookline admin create-user`.",
        )
    user = users.create_user(
        ctx,
        email=body.email,
        password=body.password,
        role=body.role,
        platform_id=platform_id,
        actor=actor,
    )
    return UserOut.of(user)


@router.get("/platforms/{platform_id}/users", responses=answers(PlatformNotFound))
def list_users(platform_id: str, ctx: Ctx, _op: Operator) -> list[UserOut]:
    return [UserOut.of(u) for u in users.list_users(ctx, platform_id)]
