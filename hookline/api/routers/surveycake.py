"""SurveyCake intake: the platform's surveys (platform token) and SurveyCake's own post.

``POST /intake/surveycake/{token}`` is what SurveyCake calls ("Notification >
Webhook"): no bearer token, the unguessable path is the credential. It answers 200
as soon as the notification is committed; a worker fetches the answer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request, Response

from hookline.api.deps import Ctx, PlatformActor, PlatformToken
from hookline.api.openapi import BODY, STORAGE_UNAVAILABLE, Answers
from hookline.api.params import SafePath
from hookline.api.schemas.surveycake import (
    CUSTOMER_ID_RULE,
    LIMIT_RULE,
    LINE_UID_RULE,
    SVID_RULE,
    IntakeAnswer,
    IntakeOut,
    LinkOut,
    NotificationList,
    NotificationOut,
    SurveyCreate,
    SurveyList,
    SurveyOut,
)
from hookline.domain.errors import (
    IntakeNotFound,
    InvalidInput,
    SurveyExists,
    SurveyNotFound,
    TooManyUnknownSurveys,
    Unauthorized,
)
from hookline.services import surveycake

answers = Answers(Unauthorized, InvalidInput, STORAGE_UNAVAILABLE)
router = APIRouter(
    prefix="/v1/surveycake", tags=["surveycake"], dependencies=[SafePath], responses=answers()
)
intake_router = APIRouter(tags=["surveycake"], dependencies=[SafePath])
SvidPath = Annotated[str, Path(json_schema_extra=SVID_RULE)]


def _absolute(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


def intake_url(request: Request, ctx: Ctx, platform_id: str) -> str:
    return _absolute(request, surveycake.intake_path(ctx, platform_id))


@router.post("/surveys", status_code=201, responses=answers(SurveyExists, *BODY))
def connect_survey(
    body: SurveyCreate, request: Request, ctx: Ctx, token: PlatformToken
) -> SurveyOut:
    survey = surveycake.connect_survey(
        ctx,
        token.platform_id,
        svid=body.svid,
        name=body.name,
        hash_key=body.hash_key,
        iv_key=body.iv_key,
        base_url=body.base_url,
    )
    return SurveyOut.of(survey, intake_url(request, ctx, token.platform_id))


@router.get("/surveys")
def list_surveys(request: Request, ctx: Ctx, token: PlatformToken) -> SurveyList:
    url = intake_url(request, ctx, token.platform_id)
    surveys = surveycake.list_surveys(ctx, token.platform_id)
    return SurveyList(data=[SurveyOut.of(s, url) for s in surveys], intake_url=url)


@router.get("/surveys/{svid}", responses=answers(SurveyNotFound))
def get_survey(svid: SvidPath, request: Request, ctx: Ctx, token: PlatformToken) -> SurveyOut:
    survey = surveycake.get_survey(ctx, token.platform_id, svid)
    return SurveyOut.of(survey, intake_url(request, ctx, token.platform_id))


@router.delete("/surveys/{svid}", status_code=204, responses=answers(SurveyNotFound))
def delete_survey(svid: SvidPath, ctx: Ctx, token: PlatformToken) -> Response:
    surveycake.delete_survey(ctx, token.platform_id, svid)
    return Response(status_code=204)


@router.get("/surveys/{svid}/link", responses=answers(SurveyNotFound))
def survey_link(
    svid: SvidPath,
    ctx: Ctx,
    token: PlatformToken,
    line_uid: Annotated[
        str, Query(examples=["U8934fa6cfd94060d8efeb32867d9715d"], json_schema_extra=LINE_UID_RULE)
    ],
    customer_id: Annotated[str | None, Query(json_schema_extra=CUSTOMER_ID_RULE)] = None,
) -> LinkOut:
    """The survey's link that prefills the LINE friend, for a message to that friend."""
    url = surveycake.survey_link(ctx, token.platform_id, svid, line_uid, customer_id)
    return LinkOut(url=url)


@router.get("/intake")
def get_intake(request: Request, ctx: Ctx, token: PlatformToken) -> IntakeOut:
    return IntakeOut(intake_url=intake_url(request, ctx, token.platform_id))


@router.post("/intake/rotate")
def rotate_intake(
    request: Request, ctx: Ctx, token: PlatformToken, actor: PlatformActor
) -> IntakeOut:
    """A new intake URL; the old one stops answering at once."""
    path = surveycake.rotate_intake(ctx, token.platform_id, actor)
    return IntakeOut(intake_url=_absolute(request, path))


@router.get("/notifications")
def list_notifications(
    ctx: Ctx,
    token: PlatformToken,
    state: Annotated[
        list[str] | None, Query(json_schema_extra={"items": {"enum": list(surveycake.STATES)}})
    ] = None,
    svid: Annotated[str | None, Query(json_schema_extra=SVID_RULE)] = None,
    limit: Annotated[int, Query(json_schema_extra=LIMIT_RULE)] = 50,
) -> NotificationList:
    """What SurveyCake sent, newest first; ``state=failed`` or ``state=not_linked`` to filter."""
    found = surveycake.list_notifications(
        ctx, token.platform_id, states=state, svid=svid, limit=limit
    )
    return NotificationList(data=[NotificationOut.of(n) for n in found])


@intake_router.post(
    "/intake/surveycake/{token}",
    responses=answers(IntakeNotFound, TooManyUnknownSurveys),
    include_in_schema=False,  # SurveyCake's protocol, not the API (docs/surveycake.md)
)
def surveycake_intake(
    token: str,
    ctx: Ctx,
    svid: Annotated[str, Form()],
    hash: Annotated[str, Form()],
) -> IntakeAnswer:
    """SurveyCake's notification of a new answer (form fields ``svid`` and ``hash``)."""
    got = surveycake.receive(ctx, token, svid, hash)
    status = "duplicate" if got.duplicate else "accepted"
    if got.state == "unknown_survey":
        status = "unknown_survey"
    return IntakeAnswer(status=status, notification_id=got.notification_id)
