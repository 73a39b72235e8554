"""Operator routes for alerts and the embeddable dashboard (docs/alerts.md, docs/portal.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from hookline.api.deps import Ctx, Operator
from hookline.api.openapi import BODY, STORAGE_UNAVAILABLE, Answers
from hookline.api.params import SafePath
from hookline.api.schemas.alerts import (
    OpsWebhookOut,
    OpsWebhookSet,
    PortalLinkCreate,
    PortalLinkOut,
    UserAlertsOut,
    UserAlertsPatch,
)
from hookline.domain.errors import (
    EmailTaken,
    InvalidInput,
    PlatformNotFound,
    Unauthorized,
    UserNotFound,
)
from hookline.services import alerts, portal

answers = Answers(Unauthorized, InvalidInput, STORAGE_UNAVAILABLE)
router = APIRouter(
    prefix="/v1/admin", tags=["operator"], dependencies=[SafePath], responses=answers()
)


@router.get("/alerts/webhook")
def get_ops_webhook(ctx: Ctx, _op: Operator) -> OpsWebhookOut:
    """The operational webhook's URL (its secret is shown only when it is set)."""
    view = alerts.ops_hook(ctx)
    return OpsWebhookOut(url=view.url, updated_at=view.updated_at)


@router.put("/alerts/webhook", responses=answers(*BODY))
def set_ops_webhook(body: OpsWebhookSet, ctx: Ctx, op: Operator) -> OpsWebhookOut:
    """Set the URL incidents are sent to, with a new signing secret; null clears it."""
    view = alerts.set_ops_hook(ctx, body.url, op)
    return OpsWebhookOut(url=view.url, updated_at=view.updated_at, secret=view.secret)


@router.get("/users/{user_id}/alerts", responses=answers(UserNotFound))
def get_user_alerts(user_id: str, ctx: Ctx, _op: Operator) -> UserAlertsOut:
    found = alerts.user_alerts(ctx, user_id)
    return UserAlertsOut(email_alerts=found.email_alerts, language=found.language)


@router.patch("/users/{user_id}/alerts", responses=answers(UserNotFound, *BODY))
def update_user_alerts(
    user_id: str, body: UserAlertsPatch, ctx: Ctx, op: Operator
) -> UserAlertsOut:
    """A user's email alerts on or off, and their language (members also set these
    themselves in the dashboard, under Settings)."""
    found = alerts.set_user_alerts(
        ctx, user_id, op, email_alerts=body.email_alerts, language=body.language
    )
    return UserAlertsOut(email_alerts=found.email_alerts, language=found.language)


@router.post(
    "/platforms/{platform_id}/portal-links",
    status_code=201,
    responses=answers(PlatformNotFound, EmailTaken, *BODY),
)
def create_portal_link(
    platform_id: str, body: PortalLinkCreate, request: Request, ctx: Ctx, op: Operator
) -> PortalLinkOut:
    """A one-use URL that signs a member into this platform's dashboard, no password."""
    link = portal.create_link(ctx, platform_id, body.email, body.ttl_seconds, op)
    url = str(request.url_for("portal_sign_in", token=link.token))
    return PortalLinkOut(
        url=url,
        expires_at=link.expires_at,
        user_id=link.user.id,
        email=link.user.email,
        created_user=link.created_user,
    )
