"""Concurrent creates cannot overshoot the webhook limit (real threads, both backends)."""

from __future__ import annotations

import threading
from datetime import timedelta

from hookline.domain.errors import WebhookLimitReached
from hookline.services import platforms, webhooks
from hookline.services.context import Context


def test_concurrent_creates_respect_the_limit(ctx: Context) -> None:
    created = platforms.create_platform(ctx, "Race", webhook_limit=3)
    platforms.set_zone(ctx, created.platform.id, 1, ctx.clock() + timedelta(days=1))
    start = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        start.wait()
        try:
            webhooks.create_webhook(
                ctx,
                created.platform.id,
                name=f"racer {i}",
                url="https://example.com/hook",
                topics=["prize.points_added"],
            )
            result = "created"
        except WebhookLimitReached:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["created"] * 3 + ["refused"] * 5
    assert platforms.overview(ctx, created.platform.id).working_webhooks == 3
