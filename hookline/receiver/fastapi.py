"""A FastAPI dependency that yields the verified, parsed event.

::

    from typing import Annotated
    from fastapi import Depends, FastAPI
    from hookline.receiver import Event
    from hookline.receiver.fastapi import webhook_event

    app = FastAPI()

    @app.post("/hooks/maac")
    async def hook(event: Annotated[Event, Depends(webhook_event("whsec_..."))]) -> str:
        ...

A dependency rather than a middleware because it needs the raw body before anything
parses it, and only on the webhook routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from fastapi import HTTPException, Request

from hookline.receiver import Event, Scheme, WebhookError
from hookline.receiver._framework import Checker, SecretSource
from hookline.receiver._verify import DEFAULT_TOLERANCE


def webhook_event(
    secret: SecretSource,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    schemes: Collection[Scheme] | None = None,
) -> Callable[[Request], Awaitable[Event]]:
    """A dependency that verifies the request and returns its event.

    A refused request never reaches the route: it is answered with the exception's
    status (400 for missing/malformed headers or body, 401 for a wrong signature or a
    stale timestamp) and ``{"detail": {"error": <code>, "message": <text>}}``, FastAPI's
    usual error shape.
    """
    check = Checker(secret, tolerance, schemes)

    async def hookline_webhook_event(request: Request) -> Event:
        body = await request.body()
        try:
            return check(body, request.headers)
        except WebhookError as exc:
            raise HTTPException(exc.http_status, detail=exc.to_dict()) from exc

    return hookline_webhook_event


__all__ = ["webhook_event"]
