"""A per-key request budget in fixed one-second windows (MAAC's 170 requests/s per platform).

Kept in the process's memory: each ``serve`` process counts its own callers, so N
processes behind one address allow up to N times the rate. That is the documented
limit of the simple approach (docs/openapi.md); a shared counter would need a write
per request.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

MAAC_OPENAPI_RATE = 170


class RateLimiter:
    def __init__(self, rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self._windows: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> int | None:
        """None when this request fits the key's budget; else seconds until it would."""
        now = self.clock()
        window = math.floor(now)
        with self._lock:
            start, used = self._windows.get(key, (window, 0))
            if start != window:
                start, used = window, 0
                if len(self._windows) > 100_000:  # old windows of quiet keys: forget them
                    self._windows.clear()
            if used >= self.rate:
                return max(1, math.ceil(start + 1 - now))
            self._windows[key] = (start, used + 1)
            return None
