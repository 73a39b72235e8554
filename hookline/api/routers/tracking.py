"""Public tracking URLs LINE clients fetch: images (opens) and click redirects.

No authentication: the path's token (24 random bytes) is the capability, one per
push, so a URL names one message sent to one LINE friend and nothing else. An
unknown token, slot or size is a plain 404 that says nothing about what exists.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import RedirectResponse

from hookline.http.deps import Ctx, get_wiring
from hookline.services import tracking
from hookline.services.messaging import Messaging

router = APIRouter(prefix="/t", include_in_schema=False)
Slot = Annotated[int, Path(ge=0, le=1000)]


def _messaging(request: Request) -> Messaging:
    found = get_wiring(request).messaging
    if found is None:
        raise RuntimeError("tracking was mounted without its messaging wiring")
    return found


MessagingDep = Annotated[Messaging, Depends(_messaging)]


def _image_response(served: tracking.Served) -> Response:
    if served.image is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    return Response(
        served.image.body,
        media_type=served.image.content_type,
        headers={"Cache-Control": "private, max-age=86400"},
    )


@router.get("/o/{token}/{slot}")
async def image(token: str, slot: Slot, ctx: Ctx, messaging: MessagingDep) -> Response:
    return _image_response(await tracking.open_image(ctx, messaging, token, slot))


@router.get("/o/{token}/{slot}/{size}")
async def imagemap_image(
    token: str, slot: Slot, size: str, ctx: Ctx, messaging: MessagingDep
) -> Response:
    return _image_response(await tracking.open_image(ctx, messaging, token, slot, size))


@router.get("/c/{token}/{slot}")
def click(token: str, slot: Slot, ctx: Ctx) -> Response:
    return RedirectResponse(tracking.click(ctx, token, slot), status_code=302)
