"""The 24-hour delivered / failed chart as inline SVG geometry, no script, no assets.

Only numbers leave this module; the template draws them, so the chart obeys the
page's Content-Security-Policy and reads the same in both languages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hookline.services.reports import HourBucket

WIDTH = 480
HEIGHT = 120
BAR_GAP = 2
TICK_EVERY = 6
"""Hours between the time labels under the bars."""


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    delivered_y: float
    delivered_height: float
    failed_y: float
    failed_height: float
    bucket: HourBucket


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    peak: int
    delivered: int
    failed: int

    @property
    def ticks(self) -> list[Bar]:
        """The bars labelled with their hour: every ``TICK_EVERY`` hours, and the last."""
        last = len(self.bars) - 1
        return [b for i, b in enumerate(self.bars) if i % TICK_EVERY == 0 or i == last]


def build(buckets: Sequence[HourBucket]) -> Chart:
    """Stacked bars: delivered at the bottom, failed above, scaled to the busiest hour."""
    peak = max((b.delivered + b.failed for b in buckets), default=0)
    slot = WIDTH / max(len(buckets), 1)
    scale = HEIGHT / peak if peak else 0.0
    bars = []
    for i, bucket in enumerate(buckets):
        delivered_height = bucket.delivered * scale
        failed_height = bucket.failed * scale
        delivered_y = HEIGHT - delivered_height
        bars.append(
            Bar(
                x=round(i * slot + BAR_GAP / 2, 2),
                width=round(slot - BAR_GAP, 2),
                delivered_y=round(delivered_y, 2),
                delivered_height=round(delivered_height, 2),
                failed_y=round(delivered_y - failed_height, 2),
                failed_height=round(failed_height, 2),
                bucket=bucket,
            )
        )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        peak=peak,
        delivered=sum(b.delivered for b in buckets),
        failed=sum(b.failed for b in buckets),
    )
