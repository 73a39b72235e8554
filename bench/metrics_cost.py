"""What counting costs the worker: ``metrics.record_settled`` per settled delivery.

Run: ``python -m bench.metrics_cost`` (multiprocess mode, files in a temporary
directory, as under ``serve``). Prints microseconds per delivery for batches of the
sizes the worker writes; compare with the worker's CPU per delivery in
docs/benchmarks.md.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime


def main() -> None:
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="hl-metrics-"))
    from hookline import metrics
    from hookline.domain.deliveries import Attempt, AttemptTrigger, DeliveryState, Settlement

    now = datetime.now(UTC)

    def one(i: int) -> Settlement:
        ok = i % 10 != 0
        attempt = Attempt(
            1,
            AttemptTrigger.WORKER,
            now,
            3.0 + i % 50,
            200 if ok else 500,
            None if ok else "http_status",
            None,
            "",
        )
        state = DeliveryState.DELIVERED if ok else DeliveryState.PENDING
        return Settlement(f"dlv_{i}", "wh_1", attempt, state, None)

    metrics.record_settled([one(0)])  # build the instruments and open the files first
    for size in (1, 10, 100, 200):
        batch = [one(i) for i in range(size)]
        rounds = max(200, 100_000 // size)
        started = time.perf_counter()
        for _ in range(rounds):
            metrics.record_settled(batch)
        per = (time.perf_counter() - started) / (rounds * size) * 1e6
        print(f"batch of {size:>3}: {per:6.2f} us per delivery")


if __name__ == "__main__":
    main()
