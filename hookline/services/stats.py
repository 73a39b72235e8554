"""A webhook's health: delivered and failed counts, success rate, attempt latency.

Read-only and computed by the database over the last 24 hours or 7 days
(``store.stats``); the same figures back ``GET /v1/webhooks/{id}/stats``, the details
page and the list's badge (``domain.health``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hookline.domain.errors import InvalidInput
from hookline.domain.health import Health, grade, success_rate
from hookline.services.context import Context
from hookline.services.platforms import get_platform
from hookline.services.validation import clean_moment
from hookline.services.webhooks import get_webhook
from hookline.store import stats as store

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
DEFAULT_WINDOW = "24h"
BADGE_WINDOW = "24h"


@dataclass(frozen=True)
class WebhookStats:
    window: str
    delivered: int
    failed: int
    success_rate: float | None
    p50_ms: float | None
    p95_ms: float | None

    @property
    def health(self) -> Health:
        return grade(self.delivered, self.failed)


def window_of(window: str) -> timedelta:
    found = WINDOWS.get(window)
    if found is None:
        choices = ", ".join(WINDOWS)
        raise InvalidInput.single("window", "invalid_choice", f"window must be one of {choices}.")
    return found


def webhook_stats(
    ctx: Context, platform_id: str, webhook_id: str, window: str = DEFAULT_WINDOW
) -> WebhookStats:
    """The figures of one of the platform's webhooks; another platform's is not found."""
    span = window_of(window)
    get_webhook(ctx, platform_id, webhook_id)
    since = ctx.clock() - span
    with ctx.db.read() as conn:
        figures = store.window_figures(conn, platform_id, webhook_id, since)
    return WebhookStats(
        window=window,
        delivered=figures.delivered,
        failed=figures.failed,
        success_rate=success_rate(figures.delivered, figures.failed),
        p50_ms=figures.p50_ms,
        p95_ms=figures.p95_ms,
    )


def health_of(ctx: Context, platform_id: str, webhook_ids: Sequence[str]) -> dict[str, Health]:
    """The list's badges: each webhook's health over the last 24 hours, one statement."""
    since = ctx.clock() - WINDOWS[BADGE_WINDOW]
    with ctx.db.read() as conn:
        counts = store.counts_of(conn, webhook_ids, since)  # the platform's own, listed by it
    return {w: grade(*counts.get(w, (0, 0))) for w in webhook_ids}


def failed_since(ctx: Context, platform_id: str, webhook_id: str, since: datetime | date) -> int:
    """What ``deliveries.recover`` from ``since`` (until now) would put back in the queue.

    A date is its midnight in the platform's time zone, as ``recover`` reads it.
    """
    get_webhook(ctx, platform_id, webhook_id)
    start = clean_moment(since, get_platform(ctx, platform_id).timezone, "since")
    assert start is not None
    with ctx.db.read() as conn:
        return store.failed_since(conn, platform_id, webhook_id, start)
