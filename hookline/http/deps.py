"""Request dependencies both faces use: the context, the sender, the tokens, the actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from hookline.domain.models import Actor
from hookline.services.context import Context
from hookline.services.deliveries import Send
from hookline.services.messaging import Messaging
from hookline.services.surveycake_job import Fetch


@dataclass(frozen=True)
class Wiring:
    """What the composition root built for the faces, read once per request, typed.

    ``send`` makes test sends and resends on the request's behalf; the tokens guard the
    operator and ingest routes (``None``: those routes are disabled).
    """

    context: Context
    send: Send
    operator_token: str | None = None
    ingest_token: str | None = None
    metrics_token: str | None = None
    """Guards ``/metrics`` (``None``: the route is disabled)."""
    expect_workers: bool = False
    """``/readyz`` fails while no worker is alive (``serve``: this process accepts
    events for delivery, embedded worker or not)."""
    frame_ancestors: tuple[str, ...] = ()
    """Origins allowed to frame the dashboard (``HOOKLINE_FRAME_ANCESTORS``)."""
    surveycake_fetch: Fetch | None = None
    """The SSRF-guarded GET of SurveyCake's query API, for the dashboard's key check."""
    messaging: Messaging | None = None
    """The Open API's LINE client, public address and rate limiter (``/openapi/v1``)."""


def get_wiring(request: Request) -> Wiring:
    wiring = getattr(request.app.state, "wiring", None)
    if not isinstance(wiring, Wiring):
        raise RuntimeError("this app was not built by hookline.app.create_app")
    return wiring


def get_context(request: Request) -> Context:
    return get_wiring(request).context


def get_send(request: Request) -> Send:
    return get_wiring(request).send


def request_actor(request: Request, kind: str, actor_id: str) -> Actor:
    """Who the audit log names for this request: the caller, its address and user agent."""
    return Actor(
        kind=kind,
        id=actor_id,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def get_surveycake_fetch(request: Request) -> Fetch:
    fetch = get_wiring(request).surveycake_fetch
    if fetch is None:
        raise RuntimeError("this app was built without a SurveyCake fetcher")
    return fetch


WiringDep = Annotated[Wiring, Depends(get_wiring)]
SurveyCakeFetchDep = Annotated[Fetch, Depends(get_surveycake_fetch)]
Ctx = Annotated[Context, Depends(get_context)]
SendDep = Annotated[Send, Depends(get_send)]
