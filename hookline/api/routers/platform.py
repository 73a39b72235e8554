"""The calling platform's own view: its zones, limit and the topics it may use."""

from __future__ import annotations

from fastapi import APIRouter

from hookline.api.deps import Ctx, PlatformActor, PlatformToken
from hookline.api.openapi import BODY, STORAGE_UNAVAILABLE, Answers
from hookline.api.params import SafePath
from hookline.api.schemas.platform import (
    PlatformDetail,
    PlatformOut,
    PlatformSettings,
    TopicOut,
    ZoneOut,
)
from hookline.domain.errors import InvalidInput, Unauthorized
from hookline.services import platforms, webhooks
from hookline.services.platforms import PlatformOverview

answers = Answers(Unauthorized, InvalidInput, STORAGE_UNAVAILABLE)
router = APIRouter(prefix="/v1", tags=["platform"], dependencies=[SafePath], responses=answers())


def detail_of(ov: PlatformOverview) -> PlatformDetail:
    return PlatformDetail(
        **PlatformOut.of(ov.platform).model_dump(),
        working_webhooks=ov.working_webhooks,
        zones=[ZoneOut(zone=z.zone, valid_until=z.valid_until, valid=z.valid) for z in ov.zones],
    )


@router.get("/platform")
def get_platform(ctx: Ctx, token: PlatformToken) -> PlatformDetail:
    return detail_of(platforms.overview(ctx, token.platform_id))


@router.patch("/platform", responses=answers(*BODY))
def update_platform_settings(
    body: PlatformSettings, ctx: Ctx, token: PlatformToken, actor: PlatformActor
) -> PlatformDetail:
    """The settings a platform may change itself: for now its retry policy."""
    platforms.update_platform(ctx, token.platform_id, retry_policy=body.retry_policy, actor=actor)
    return detail_of(platforms.overview(ctx, token.platform_id))


@router.get("/topics")
def list_topics(ctx: Ctx, token: PlatformToken) -> list[TopicOut]:
    return [
        TopicOut(
            name=topic.name,
            zone=topic.zone,
            description=dict(topic.description),
            schema_=dict(topic.schema),
            sample=dict(topic.sample),
            available=reason is None,
            unavailable_reason=reason,
        )
        for topic, reason in webhooks.topic_availability(ctx, token.platform_id)
    ]
