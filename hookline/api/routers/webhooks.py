"""The platform's webhooks: create, list, read, change, stop, resume, delete, test, secrets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from hookline.api.deps import Ctx, PlatformActor, PlatformToken
from hookline.api.openapi import BODY, STORAGE_UNAVAILABLE, Answers
from hookline.api.params import SafePath
from hookline.api.schemas.deliveries import SendResult
from hookline.api.schemas.webhooks import (
    SecretOut,
    SecretRotate,
    SigningSecret,
    SigningSecrets,
    TestIn,
    WebhookCreate,
    WebhookList,
    WebhookOut,
    WebhookPatch,
    WebhookStatsOut,
)
from hookline.domain.errors import (
    IdempotencyKeyReused,
    InvalidInput,
    Unauthorized,
    WebhookLimitReached,
    WebhookNotFound,
    ZoneExpired,
    ZoneNotPurchased,
)
from hookline.http.deps import SendDep
from hookline.services import deliveries, stats, webhooks

answers = Answers(Unauthorized, InvalidInput, STORAGE_UNAVAILABLE)
router = APIRouter(
    prefix="/v1/webhooks", tags=["webhooks"], dependencies=[SafePath], responses=answers()
)
ZONES = (ZoneNotPurchased, ZoneExpired)
# Checked by the service (code out_of_range); shown here.
PAGE_SIZE = {"minimum": 1, "maximum": webhooks.MAX_PAGE_SIZE}


@router.post(
    "",
    status_code=201,
    responses=answers(*ZONES, WebhookLimitReached, IdempotencyKeyReused, *BODY),
)
def create_webhook(
    body: WebhookCreate,
    ctx: Ctx,
    token: PlatformToken,
    actor: PlatformActor,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> WebhookOut:
    webhook = webhooks.create_webhook(
        ctx,
        token.platform_id,
        name=body.name,
        url=body.url,
        topics=body.topics,
        idempotency_key=idempotency_key,
        given=body.given(),
        actor=actor,
    )
    return WebhookOut.of(webhook)


@router.get("")
def list_webhooks(
    ctx: Ctx,
    token: PlatformToken,
    limit: Annotated[int, Query(json_schema_extra=PAGE_SIZE)] = webhooks.DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query()] = None,
) -> WebhookList:
    page = webhooks.list_webhooks(ctx, token.platform_id, limit=limit, cursor=cursor)
    return WebhookList(data=[WebhookOut.of(w) for w in page.items], next_cursor=page.next_cursor)


@router.get("/{webhook_id}", responses=answers(WebhookNotFound))
def get_webhook(webhook_id: str, ctx: Ctx, token: PlatformToken) -> WebhookOut:
    return WebhookOut.of(webhooks.get_webhook(ctx, token.platform_id, webhook_id))


@router.get("/{webhook_id}/stats", responses=answers(WebhookNotFound))
def webhook_stats(
    webhook_id: str,
    ctx: Ctx,
    token: PlatformToken,
    window: Annotated[str, Query(json_schema_extra={"enum": list(stats.WINDOWS)})] = "24h",
) -> WebhookStatsOut:
    """Delivered and failed counts, success rate and attempt latency over 24 h or 7 days."""
    return WebhookStatsOut.of(stats.webhook_stats(ctx, token.platform_id, webhook_id, window))


@router.patch("/{webhook_id}", responses=answers(WebhookNotFound, *ZONES, *BODY))
def update_webhook(
    webhook_id: str, body: WebhookPatch, ctx: Ctx, token: PlatformToken, actor: PlatformActor
) -> WebhookOut:
    webhook = webhooks.update_webhook(
        ctx,
        token.platform_id,
        webhook_id,
        name=body.name,
        url=body.url,
        topics=body.topics,
        given=body.given(),
        actor=actor,
    )
    return WebhookOut.of(webhook)


@router.delete("/{webhook_id}", status_code=204, responses=answers(WebhookNotFound))
def delete_webhook(
    webhook_id: str, ctx: Ctx, token: PlatformToken, actor: PlatformActor
) -> Response:
    webhooks.delete_webhook(ctx, token.platform_id, webhook_id, actor=actor)
    return Response(status_code=204)


@router.post("/{webhook_id}/stop", responses=answers(WebhookNotFound))
def stop_webhook(
    webhook_id: str, ctx: Ctx, token: PlatformToken, actor: PlatformActor
) -> WebhookOut:
    return WebhookOut.of(webhooks.stop_webhook(ctx, token.platform_id, webhook_id, actor=actor))


@router.post(
    "/{webhook_id}/resume", responses=answers(WebhookNotFound, *ZONES, WebhookLimitReached)
)
def resume_webhook(
    webhook_id: str, ctx: Ctx, token: PlatformToken, actor: PlatformActor
) -> WebhookOut:
    webhook = webhooks.resume_webhook(ctx, token.platform_id, webhook_id, actor=actor)
    return WebhookOut.of(webhook)


@router.post("/{webhook_id}/test", responses=answers(WebhookNotFound, *BODY))
async def send_test(
    webhook_id: str, body: TestIn, ctx: Ctx, send: SendDep, token: PlatformToken
) -> SendResult:
    """Send the topic's sample now (header ``CrescLab-Test: true``) and show what happened."""
    sent = await deliveries.send_test(ctx, send, token.platform_id, webhook_id, body.topic)
    return SendResult.of(sent)


@router.get("/{webhook_id}/secret", responses=answers(WebhookNotFound))
def reveal_secret(
    webhook_id: str, ctx: Ctx, actor: PlatformActor, token: PlatformToken
) -> SecretOut:
    return SecretOut(secret=webhooks.reveal_secret(ctx, token.platform_id, webhook_id, actor))


@router.get("/{webhook_id}/secrets", responses=answers(WebhookNotFound))
def signing_secrets(webhook_id: str, ctx: Ctx, token: PlatformToken) -> SigningSecrets:
    """Which secrets sign right now and until when (after a rotation with a grace period)."""
    windows = webhooks.secret_windows(ctx, token.platform_id, webhook_id)
    return SigningSecrets(
        data=[SigningSecret(created_at=made, expires_at=until) for made, until in windows]
    )


@router.post("/{webhook_id}/secret/rotate", responses=answers(WebhookNotFound, *BODY))
def rotate_secret(
    webhook_id: str,
    ctx: Ctx,
    actor: PlatformActor,
    token: PlatformToken,
    body: SecretRotate | None = None,
) -> SecretOut:
    grace = body.expire_old_after_seconds if body else 0
    secret = webhooks.rotate_secret(
        ctx, token.platform_id, webhook_id, actor, expire_old_after_seconds=grace
    )
    return SecretOut(secret=secret)
