"""The marketer's SurveyCake page: the intake URL, the surveys, what failed, what is unlinked.

One page, rendered whole: connect a survey (its keys are never shown again), delete
one, and check a survey's keys against the newest answer SurveyCake holds. Errors
are translated by their codes, like the other pages.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from hookline.domain.errors import HooklineError, InvalidInput, StorageUnavailable
from hookline.http.deps import SurveyCakeFetchDep
from hookline.services import surveycake
from hookline.services.surveycake_job import check_keys
from hookline.web.routing import dashboard_router
from hookline.web.view import MemberAction, MemberPage, View

router = dashboard_router()

LISTED = 20
NOTICES = frozenset({"connected", "deleted"})


def _page(
    view: View,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    check: tuple[str, str | None] | None = None,
    status_code: int = 200,
) -> Response:
    pid = view.platform_id
    base = str(view.request.base_url).rstrip("/")
    return view.render(
        "surveycake.html",
        status_code=status_code,
        intake_url=base + surveycake.intake_path(view.ctx, pid),
        surveys=surveycake.list_surveys(view.ctx, pid),
        failed=surveycake.list_notifications(view.ctx, pid, states=["failed"], limit=LISTED),
        unlinked=surveycake.list_notifications(view.ctx, pid, states=["not_linked"], limit=LISTED),
        values=values or {"svid": "", "name": "", "base_url": ""},
        errors=errors or {},
        notice=notice if notice in NOTICES else None,
        check=check,
    )


@router.get("/surveycake")
def surveycake_page(view: MemberPage, notice: str | None = None) -> Response:
    return _page(view, notice=notice)


def _errors(view: View, exc: HooklineError) -> dict[str, str]:
    if isinstance(exc, InvalidInput):
        out: dict[str, str] = {}
        for error in exc.errors:
            out.setdefault(error.field, view.field_text(error, "surveycake.field"))
        return out
    return {"_form": view.error_text(exc, "surveycake.error")}


@router.post("/surveycake/surveys")
def connect_survey(
    view: MemberAction,
    svid: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    hash_key: Annotated[str, Form()] = "",
    iv_key: Annotated[str, Form()] = "",
    base_url: Annotated[str, Form()] = "",
) -> Response:
    try:
        surveycake.connect_survey(
            view.ctx,
            view.platform_id,
            svid=svid.strip(),
            name=name or None,
            hash_key=hash_key,
            iv_key=iv_key,
            base_url=base_url.strip() or None,
        )
    except StorageUnavailable:
        raise
    except HooklineError as exc:
        values = {"svid": svid, "name": name, "base_url": base_url}  # never the keys
        return _page(view, values=values, errors=_errors(view, exc), status_code=422)
    return view.redirect("/surveycake?notice=connected")


@router.post("/surveycake/surveys/{svid}/delete")
def delete_survey(view: MemberAction, svid: str) -> Response:
    surveycake.delete_survey(view.ctx, view.platform_id, svid)
    return view.redirect("/surveycake?notice=deleted")


@router.post("/surveycake/surveys/{svid}/check")
async def check_survey_keys(view: MemberAction, fetch: SurveyCakeFetchDep, svid: str) -> Response:
    """Decrypt the newest answer with the stored keys; the page says how it went."""
    result = await check_keys(view.ctx, view.platform_id, svid, fetch)
    return await run_in_threadpool(_page, view, check=(svid, result.problem))
