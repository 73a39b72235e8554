"""Alert settings and portal links (operator routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool

from hookline.api.schemas.admin import EMAIL_PATTERN
from hookline.api.schemas.common import SafeText, Strict, WholeNumber, rule
from hookline.services.portal import DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS
from hookline.services.users import MAX_EMAIL_LENGTH


class OpsWebhookSet(Strict):
    url: Annotated[SafeText, rule(maxLength=2048)] | None = Field(
        examples=["https://ops.example.com/hookline"],
        description="Where webhook.failing, webhook.recovered, webhook.stopped and"
        " zone.expiring are sent (docs/events/operational.md); null turns them off.",
    )


class OpsWebhookOut(BaseModel):
    url: str | None
    updated_at: datetime | None
    secret: str | None = Field(
        default=None,
        description="The signing secret, shown only in the answer that set the URL.",
    )


class UserAlertsPatch(Strict):
    email_alerts: StrictBool | None = None
    language: Literal["en", "zh-TW"] | None = Field(
        default=None, description="The language of this user's alert emails."
    )


class UserAlertsOut(BaseModel):
    email_alerts: bool
    language: str | None


class PortalLinkCreate(Strict):
    email: Annotated[SafeText, rule(maxLength=MAX_EMAIL_LENGTH, pattern=EMAIL_PATTERN)] | None = (
        Field(
            default=None,
            examples=["marketer@example.com"],
            description="The member to sign in (created when new); omitted: the"
            " platform's shared portal member.",
        )
    )
    ttl_seconds: Annotated[WholeNumber, rule(minimum=1, maximum=MAX_TTL_SECONDS)] = Field(
        default=DEFAULT_TTL_SECONDS, description="How long the link works, at most 600 s."
    )


class PortalLinkOut(BaseModel):
    url: str = Field(description="Works once, until expires_at; open it in the iframe.")
    expires_at: datetime
    user_id: str
    email: str
    created_user: bool
