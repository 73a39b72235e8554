"""Templates and the LINE channel (hookline's /v1 API), and MAAC's Open API bodies.

MAAC's bodies (``EventIn``, ``PushIn`` and the answers) keep MAAC's field names and
shapes exactly, so a client written for MAAC's Open API needs no change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from hookline.api.schemas.common import Strict
from hookline.services.templates import Template

MAX_ID = 2**31 - 1  # integer ids fit PostgreSQL's integer


class LineChannelIn(Strict):
    channel_access_token: str = Field(
        description="The LINE Messaging API channel access token (long-lived). Stored"
        " encrypted; never shown again."
    )


class LineChannelOut(BaseModel):
    connected: bool
    updated_at: datetime | None


class TemplateIn(Strict):
    name: str
    messages: list[Any] = Field(
        description="1 to 5 LINE message objects (text, image, imagemap, flex); strings may"
        " hold {{param}} placeholders filled from a push's data. At least one image."
    )


class TemplatePatch(Strict):
    name: str | None = None
    messages: list[Any] | None = None


class TemplateOut(BaseModel):
    id: int
    name: str
    messages: list[Any]
    parameters: list[str] = Field(description="The placeholders a push must fill.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, t: Template) -> TemplateOut:
        return cls(
            id=t.id,
            name=t.name,
            messages=t.messages,
            parameters=t.parameters,
            created_at=t.created_at,
            updated_at=t.updated_at,
        )


class EventIn(BaseModel):
    name: str


class PushIn(BaseModel):
    template_id: int = Field(ge=1, le=MAX_ID, strict=True)
    event_id: int | None = Field(default=None, ge=1, le=MAX_ID, strict=True)
    data: dict[str, Any]
