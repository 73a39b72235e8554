"""Operator bodies: platforms, zone purchases, API tokens and dashboard users."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from hookline.api.schemas.common import SafeText, Strict, UnicodeText
from hookline.api.schemas.platform import PlatformOut
from hookline.domain.models import Role, User
from hookline.domain.retry import RetryPolicy


class PlatformCreate(Strict):
    name: SafeText = Field(examples=["Demo Coffee"])
    timezone: SafeText | None = Field(default=None, examples=["Asia/Taipei"])
    webhook_limit: int | None = Field(default=None, examples=[3])


class PlatformPatch(Strict):
    name: SafeText | None = None
    timezone: SafeText | None = None
    webhook_limit: int | None = None
    retry_policy: RetryPolicy | None = None


class ZoneSet(Strict):
    valid_until: datetime = Field(examples=["2027-12-31T23:59:59+08:00"])


class PlatformCreated(PlatformOut):
    api_token: str = Field(description="Shown this once; hookline keeps only its hash.")


class TokenCreated(BaseModel):
    id: str
    token: str = Field(description="Shown this once; hookline keeps only its hash.")


class UserCreate(Strict):
    email: SafeText = Field(examples=["marketer@example.com"])
    password: UnicodeText = Field(
        description="10 to 1024 characters; stored only as an argon2 hash."
    )
    role: Role = Field(
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
