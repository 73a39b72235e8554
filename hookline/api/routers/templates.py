"""The platform's LINE channel and message templates (hookline's own /v1 conventions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from hookline.api.deps import Ctx, PlatformActor, PlatformToken
from hookline.api.openapi import BODY, STORAGE_UNAVAILABLE, Answers
from hookline.api.schemas.messaging import (
    MAX_ID,
    LineChannelIn,
    LineChannelOut,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
)
from hookline.domain.errors import InvalidInput, Unauthorized
from hookline.domain.messaging import TemplateNotFound
from hookline.services import templates

answers = Answers(Unauthorized, InvalidInput, STORAGE_UNAVAILABLE)
router = APIRouter(prefix="/v1", tags=["templates"], responses=answers())
TemplateId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.put("/platform/line", responses=answers(*BODY))
def set_line_channel(
    body: LineChannelIn, ctx: Ctx, token: PlatformToken, actor: PlatformActor
) -> LineChannelOut:
    """Connect the LINE channel pushes go through; the token is never shown again."""
    saved = templates.set_line_channel(
        ctx, token.platform_id, body.channel_access_token, actor=actor
    )
    return LineChannelOut(connected=True, updated_at=saved)


@router.get("/platform/line")
def get_line_channel(ctx: Ctx, token: PlatformToken) -> LineChannelOut:
    since = templates.line_channel_since(ctx, token.platform_id)
    return LineChannelOut(connected=since is not None, updated_at=since)


@router.post("/templates", status_code=201, responses=answers(*BODY))
def create_template(
    body: TemplateIn, ctx: Ctx, token: PlatformToken, actor: PlatformActor
) -> TemplateOut:
    created = templates.create_template(
        ctx, token.platform_id, body.name, body.messages, actor=actor
    )
    return TemplateOut.of(created)


@router.get("/templates")
def list_templates(ctx: Ctx, token: PlatformToken) -> list[TemplateOut]:
    return [TemplateOut.of(t) for t in templates.list_templates(ctx, token.platform_id)]


@router.get("/templates/{template_id}", responses=answers(TemplateNotFound))
def get_template(template_id: TemplateId, ctx: Ctx, token: PlatformToken) -> TemplateOut:
    return TemplateOut.of(templates.get_template(ctx, token.platform_id, template_id))


@router.patch("/templates/{template_id}", responses=answers(TemplateNotFound, *BODY))
def update_template(
    template_id: TemplateId,
    body: TemplatePatch,
    ctx: Ctx,
    token: PlatformToken,
    actor: PlatformActor,
) -> TemplateOut:
    changed = templates.update_template(
        ctx, token.platform_id, template_id, name=body.name, messages=body.messages, actor=actor
    )
    return TemplateOut.of(changed)


@router.delete("/templates/{template_id}", status_code=204, responses=answers(TemplateNotFound))
def delete_template(
    template_id: TemplateId, ctx: Ctx, token: PlatformToken, actor: PlatformActor
) -> Response:
    templates.delete_template(ctx, token.platform_id, template_id, actor=actor)
    return Response(status_code=204)
