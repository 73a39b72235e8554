"""What a metrics scrape reads from the database, as plain numbers for the exposition."""

from __future__ import annotations

from dataclasses import dataclass, field

from hookline.services.context import Context
from hookline.store import queue_stats, workers

FAILING_WEBHOOKS_SHOWN = 50
"""Per-webhook series are limited to the longest-failing few: one series per webhook
ever configured would grow without bound; the count of all failing ones is separate."""


@dataclass(frozen=True)
class QueueSnapshot:
    by_state: dict[str, int]
    due: int
    oldest_due_age: float
    failing_webhooks: dict[str, float] = field(default_factory=dict)
    failing_total: int = 0
    workers_alive: int = 0


def read_queue(ctx: Context, *, failing_limit: int = FAILING_WEBHOOKS_SHOWN) -> QueueSnapshot:
    """One read transaction; ages are seconds on the context's clock."""
    now = ctx.clock()
    with ctx.db.read() as conn:
        stats = queue_stats.read(conn, now, failing_limit=failing_limit)
        alive = workers.alive(conn, now - ctx.worker_dead_after)
    oldest = stats.oldest_due_at
    return QueueSnapshot(
        by_state=stats.by_state,
        due=stats.due,
        oldest_due_age=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        failing_webhooks={
            webhook_id: max(0.0, (now - since).total_seconds())
            for webhook_id, since in stats.failing_since.items()
        },
        failing_total=stats.failing_total,
        workers_alive=alive,
    )
