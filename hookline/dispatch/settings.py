"""What a worker is told: its limits, intervals and name (read from config by bootstrap)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hookline.domain.ids import new_id


@dataclass(frozen=True)
class WorkerSettings:
    concurrency: int = 200
    per_webhook_cap: int = 50
    lease_seconds: float = 60.0
    poll_interval: float = 1.0
    shutdown_timeout: float = 20.0
    maintenance_interval: float = 1.0  # reclaim this often: a dead worker's rows come back
    purge_interval: float = 5.0  # retention and stale-row purges, this often
    heartbeat_interval: float = 1.0
    dead_after: float = 3.0  # seconds without a heartbeat: that worker is dead
    retention: timedelta = timedelta(days=30)
    purge_batches: int = 20  # per maintenance round, 500 events each
    linger: float = 0.005  # seconds to gather results before a database round
    settle_batch: int = 100  # ... unless this many are already waiting
    backoff_base: float = 0.1  # seconds after the first failed queue call, doubling ...
    backoff_cap: float = 5.0  # ... up to this


def utcnow() -> datetime:
    return datetime.now(UTC)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_id('w')[-6:]}"
