"""The platform's webhooks: create, list, read, change, stop, resume, delete, test, secrets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from hookline.api.deps import Ctx, PlatformActor, PlatformToken
from hookline.api.routers.deliveries import SendResult, TestIn
from hookline.api.schemas import (
    SecretOut,
    SecretRotate,
    WebhookCreate,
    WebhookList,
    WebhookOut,
    WebhookPatch,
)
from hookline.http.deps import SendDep
from hookline.services import deliveries, webhooks

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("", status_code=201)
def create_webhook(
    body: WebhookCreate,
    ctx: Ctx,
    token: PlatformToken,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> WebhookOut:
    webhook = webhooks.create_webhook(
        ctx,
        token.platform_id,
        name=body.name,
        url=body.url,
        topics=body.topics,
        idempotency_key=idempotency_key,
    )
    return WebhookOut.of(webhook)


@router.get("")
def list_webhooks(
    ctx: Ctx,
    token: PlatformToken,
    limit: Annotated[int, Query()] = webhooks.DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query()] = None,
) -> WebhookList:
    page = webhooks.list_webhooks(ctx, token.platform_id, limit=limit, cursor=cursor)
    return WebhookList(data=[WebhookOut.of(w) for w in page.items], next_cursor=page.next_cursor)


@router.get("/{webhook_id}")
def get_webhook(webhook_id: str, ctx: Ctx, token: PlatformToken) -> WebhookOut:
    return WebhookOut.of(webhooks.get_webhook(ctx, token.platform_id, webhook_id))


@router.patch("/{webhook_id}")
def update_webhook(
    webhook_id: str, body: WebhookPatch, ctx: Ctx, token: PlatformToken
) -> WebhookOut:
    webhook = webhooks.update_webhook(
        ctx, token.platform_id, webhook_id, name=body.name, url=body.url, topics=body.topics
    )
    return WebhookOut.of(webhook)


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: str, ctx: Ctx, token: PlatformToken) -> Response:
    webhooks.delete_webhook(ctx, token.platform_id, webhook_id)
    return Response(status_code=204)


@router.post("/{webhook_id}/stop")
def stop_webhook(webhook_id: str, ctx: Ctx, token: PlatformToken) -> WebhookOut:
    return WebhookOut.of(webhooks.stop_webhook(ctx, token.platform_id, webhook_id))


@router.post("/{webhook_id}/resume")
def resume_webhook(webhook_id: str, ctx: Ctx, token: PlatformToken) -> WebhookOut:
    return WebhookOut.of(webhooks.resume_webhook(ctx, token.platform_id, webhook_id))


@router.post("/{webhook_id}/test")
async def send_test(
    webhook_id: str, body: TestIn, ctx: Ctx, send: SendDep, token: PlatformToken
) -> SendResult:
    """Send the topic's sample now (header ``CrescLab-Test: true``) and show what happened."""
    sent = await deliveries.send_test(ctx, send, token.platform_id, webhook_id, body.topic)
    return SendResult.of(sent)


@router.get("/{webhook_id}/secret")
def reveal_secret(
    webhook_id: str, ctx: Ctx, actor: PlatformActor, token: PlatformToken
) -> SecretOut:
    return SecretOut(secret=webhooks.reveal_secret(ctx, token.platform_id, webhook_id, actor))


@router.post("/{webhook_id}/secret/rotate")
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
