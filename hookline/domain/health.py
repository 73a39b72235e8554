"""How healthy a webhook looks from its recent deliveries: one rule for badge and API."""

from __future__ import annotations

import enum

HEALTHY_RATE = 0.95
"""At least this share delivered: healthy. Occasional failures retried later are normal."""
FAILING_RATE = 0.5
"""Below this share delivered: failing. In between: degraded."""


class Health(enum.StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    FAILING = "failing"
    IDLE = "idle"
    """Nothing delivered or failed in the window: there is nothing to judge."""


def success_rate(delivered: int, failed: int) -> float | None:
    """The share delivered, rounded to 4 places; ``None`` when nothing settled."""
    total = delivered + failed
    return None if total == 0 else round(delivered / total, 4)


def grade(delivered: int, failed: int) -> Health:
    rate = success_rate(delivered, failed)
    if rate is None:
        return Health.IDLE
    if rate >= HEALTHY_RATE:
        return Health.HEALTHY
    return Health.DEGRADED if rate >= FAILING_RATE else Health.FAILING
