"""What a LINE client's fetches mean: a push's first image fetch is its friend's open.

Each push goes to one LINE friend and carries its own unguessable token, so "the
first fetch of any image of this push" is "this friend's first open of this message".
That open is recorded once (the primary key decides between racing fetches), and,
for a push made with an ``event_id``, becomes a ``message.first_open`` event through
the ordinary ingest path: the zone 2 gate, the webhooks' share secrets and retries
all apply as to any other event. The ingest's producer id ``first_open:<push>`` makes
a repeat harmless.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass

from hookline.domain.errors import HooklineError
from hookline.domain.messaging import (
    CLICK_SCHEMES,
    IMAGEMAP_SIZES,
    FetchedImage,
    TrackingNotFound,
)
from hookline.domain.text import text_refusal
from hookline.services.context import Context
from hookline.services.ingest import IncomingEvent, ingest_one
from hookline.services.messaging import Messaging
from hookline.store import messaging as store
from hookline.store import tracking
from hookline.store.messaging import PushRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Served:
    image: FetchedImage | None
    first_open: bool


def _push(ctx: Context, token: str) -> PushRow:
    push = None
    if text_refusal(token) is None and len(token) <= 64:
        with ctx.db.read() as conn:
            push = store.push_by_token(conn, token)
    if push is None:
        raise TrackingNotFound("No such tracked message.")
    return push


def _slot(items: list[str], slot: int) -> str:
    if not 0 <= slot < len(items):
        raise TrackingNotFound("No such tracked message.")
    return items[slot]


def _emit_first_open(ctx: Context, push: PushRow) -> None:
    assert push.event_id is not None
    data = {
        "message_type": "openapi",
        "message_id": push.event_id,
        "line_uid": push.line_uid,
        "customer_id": push.customer_id,
    }
    event = IncomingEvent(
        platform_id=push.platform_id,
        topic="message.first_open",
        data=data,
        producer_id=f"first_open:{push.id}",
    )
    try:
        ingest_one(ctx, event)
    except HooklineError as exc:  # the open stays counted; the webhook side says why
        log.warning("first-open event of push %s not accepted: %s", push.id, exc.code)


async def open_image(
    ctx: Context, messaging: Messaging, token: str, slot: int, size: str | None = None
) -> Served:
    """Record the open (first fetch only) and answer the image's bytes, cached."""
    if size is not None and size not in IMAGEMAP_SIZES:
        raise TrackingNotFound("No such tracked message.")
    original, first, cached = await asyncio.to_thread(_open, ctx, token, slot, size)
    if cached is not None:
        return Served(cached, first)
    fetched = await messaging.line.fetch_image(original)
    if fetched is not None:
        await asyncio.to_thread(_cache, ctx, original, fetched)
    return Served(fetched, first)


def _key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _open(
    ctx: Context, token: str, slot: int, size: str | None
) -> tuple[str, bool, FetchedImage | None]:
    """The database half of an image fetch (run in a thread): the open, the cache."""
    push = _push(ctx, token)
    original = _slot(push.images, slot)
    if size is not None:
        original = f"{original.rstrip('/')}/{size}"
    with ctx.db.write() as conn:
        first = tracking.record_open(conn, push.id, ctx.clock())
    if first and push.event_id is not None:
        _emit_first_open(ctx, push)
    with ctx.db.read() as conn:
        cached = tracking.cached_image(conn, _key(original))
    return original, first, None if cached is None else FetchedImage(*cached)


def _cache(ctx: Context, url: str, image: FetchedImage) -> None:
    with ctx.db.write() as conn:
        tracking.cache_image(conn, _key(url), image.content_type, image.body, ctx.clock())


def click(ctx: Context, token: str, slot: int) -> str:
    """Count a click and answer where it goes (only where a LINE URI action may go)."""
    push = _push(ctx, token)
    target = _slot(push.links, slot)
    if not target.startswith(CLICK_SCHEMES):
        raise TrackingNotFound("No such tracked message.")
    with ctx.db.write() as conn:
        tracking.record_click(conn, push.id, target, ctx.clock())
    return target
