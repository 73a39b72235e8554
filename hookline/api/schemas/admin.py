"""Operator bodies: platforms, zone purchases, API tokens and dashboard users."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, WithJsonSchema

from hookline.api.schemas.common import (
    Instant,
    PlatformName,
    SafeText,
    Strict,
    UnicodeText,
    WholeNumber,
    rule,
)
from hookline.api.schemas.platform import PlatformOut
from hookline.domain.models import MAX_WEBHOOK_LIMIT, Role, User
from hookline.domain.retry import RetryPolicy
from hookline.domain.text import UNSAFE_CHARACTERS
from hookline.services.users import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

WebhookLimit = Annotated[WholeNumber, rule(minimum=0, maximum=MAX_WEBHOOK_LIMIT)]
TimeZone = Annotated[SafeText, Field(description="An IANA time zone name.")]
_SAFE = UNSAFE_CHARACTERS
# services.users.clean_email's shape, within the safe characters.
EMAIL_PATTERN = f"^[^@\\s{_SAFE}]+@[^@\\s.{_SAFE}]+(\\.[^@\\s.{_SAFE}]+)+$"


class PlatformCreate(Strict):
    name: PlatformName = Field(examples=["Demo Coffee"])
    timezone: TimeZone | None = Field(default=None, examples=["Asia/Taipei"])
    webhook_limit: WebhookLimit | None = Field(default=None, examples=[3])


class PlatformPatch(Strict):
    name: PlatformName | None = None
    timezone: TimeZone | None = None
    webhook_limit: WebhookLimit | None = None
    retry_policy: RetryPolicy | None = None


class ZoneSet(Strict):
    valid_until: Instant = Field(examples=["2027-12-31T23:59:59+08:00"])


class PlatformCreated(PlatformOut):
    api_token: str = Field(description="Shown this once; hookline keeps only its hash.")


class TokenCreated(BaseModel):
    id: str
    token: str = Field(description="Shown this once; hookline keeps only its hash.")


class UserCreate(Strict):
    email: Annotated[SafeText, rule(maxLength=MAX_EMAIL_LENGTH, pattern=EMAIL_PATTERN)] = Field(
        examples=["marketer@example.com"]
    )
    password: Annotated[
        UnicodeText, rule(minLength=MIN_PASSWORD_LENGTH, maxLength=MAX_PASSWORD_LENGTH)
    ] = Field(description="10 to 1024 characters; stored only as an argon2 hash.")
    role: Annotated[Role, WithJsonSchema({"type": "string", "enum": [Role.MEMBER.value]})] = Field(
        default=Role.MEMBER,
        description="Only member here: operators are created with `hookline admin create-user`.",
    )


class UserOut(BaseModel):
    """A dashboard user; the password (even its hash) is never returned."""

    id: str
    email: str
    role: Role
    platform_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(
            id=u.id, email=u.email, role=u.role, platform_id=u.platform_id, created_at=u.created_at
        )
