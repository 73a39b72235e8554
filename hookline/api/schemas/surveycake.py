"""SurveyCake surveys, the intake URL, prefill links and the notifications received."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from hookline.api.schemas.common import NAME_PATTERN, PlatformName, SafeText, Strict
from hookline.services.surveycake import STATES, Notification, Survey

# The rules the services enforce (services.surveycake), stated for the document.
SVID_RULE = {"pattern": "^[A-Za-z0-9_-]{1,64}$"}
KEY_RULE = {"pattern": "^[!-~]{16}$"}
LINE_UID_RULE = {"pattern": "^U[0-9a-f]{32}$"}
CUSTOMER_ID_RULE = {"minLength": 1, "maxLength": 255, "pattern": NAME_PATTERN}
LIMIT_RULE = {"minimum": 1, "maximum": 200}

Svid = Annotated[SafeText, Field(json_schema_extra=SVID_RULE)]
SurveyKey = Annotated[SafeText, Field(json_schema_extra=KEY_RULE)]


class SurveyCreate(Strict):
    svid: Svid = Field(
        examples=["yPZQe"], description="SurveyCake's survey id (1 to 64 letters, digits, - or _)."
    )
    name: PlatformName | None = Field(
        default=None, examples=["2026 會員滿意度調查"], description="Sent as data.survey_name."
    )
    hash_key: SurveyKey = Field(
        description="The survey's 'Hash key' in SurveyCake: 16 characters. Sealed at rest,"
        " never shown again."
    )
    iv_key: SurveyKey = Field(description="The survey's 'IV key' in SurveyCake: 16 characters.")
    base_url: SafeText | None = Field(
        default=None,
        examples=["https://www.surveycake.com"],
        description="SurveyCake's host (enterprise and regional deployments have their own);"
        " checked like a webhook URL.",
    )


class SurveyOut(BaseModel):
    id: str
    svid: str
    name: str | None
    base_url: str
    last_error: str | None = Field(description="Code of the last answer that failed, if any.")
    last_error_detail: str | None
    last_error_at: datetime | None
    created_at: datetime
    intake_url: str = Field(
        description="Paste this into the survey's 'Notification > Webhook' in SurveyCake."
    )

    @classmethod
    def of(cls, s: Survey, intake_url: str) -> SurveyOut:
        return cls(
            id=s.id,
            svid=s.svid,
            name=s.name,
            base_url=s.base_url,
            last_error=s.last_error,
            last_error_detail=s.last_error_detail,
            last_error_at=s.last_error_at,
            created_at=s.created_at,
            intake_url=intake_url,
        )


class SurveyList(BaseModel):
    data: list[SurveyOut]
    intake_url: str


class IntakeOut(BaseModel):
    intake_url: str


class LinkOut(BaseModel):
    url: str = Field(description="The survey's link that prefills maac_member_line_uid.")


class IntakeAnswer(BaseModel):
    status: str = Field(description="accepted, duplicate or unknown_survey.")
    notification_id: str | None


class NotificationOut(BaseModel):
    id: str
    svid: str
    answer_hash: str
    state: str = Field(json_schema_extra={"enum": list(STATES)})
    attempts: int
    next_attempt_at: datetime | None
    error: str | None
    error_detail: str | None
    event_id: str | None
    answer: dict[str, Any] | None = Field(
        description="The answer as it would be sent, kept for answers not linked to a LINE friend."
    )
    received_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, n: Notification) -> NotificationOut:
        return cls(
            id=n.id,
            svid=n.svid,
            answer_hash=n.answer_hash,
            state=n.state,
            attempts=n.attempts,
            next_attempt_at=n.next_attempt_at,
            error=n.error,
            error_detail=n.error_detail,
            event_id=n.event_id,
            answer=json.loads(n.answer) if n.answer else None,
            received_at=n.received_at,
            updated_at=n.updated_at,
        )


class NotificationList(BaseModel):
    data: list[NotificationOut]
