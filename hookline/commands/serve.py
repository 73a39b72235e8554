"""What ``hookline serve`` runs beside the API: its delivery workers, and the server loop.

By default serve delivers with one ``hookline worker`` process per core, supervised
(``hookline.supervisor``); ``--workers 0`` keeps one worker inside the serve process,
for the smallest installs; ``--no-worker`` delivers nothing (workers run elsewhere).
Imported only by ``serve``: it loads uvicorn.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from types import FrameType
from typing import Any

import uvicorn

from hookline.config import Settings
from hookline.supervisor import Supervisor

STARTUP_FAILURE = 3  # uvicorn.run's exit status when the server never started


def default_workers() -> int:
    """One worker process per core: a worker is one Python thread's worth of CPU."""
    return os.cpu_count() or 1


@dataclass
class Delivery:
    """How this serve process delivers: worker processes, itself, or not at all."""

    supervisor: Supervisor | None
    embedded: bool

    def describe(self) -> str:
        if self.supervisor is not None:
            pids = ", ".join(str(p) for p in self.supervisor.pids)
            count = len(self.supervisor.pids)
            return f"{count} worker process{'es' if count != 1 else ''} (pids {pids})"
        if self.embedded:
            return "1 worker inside this process (--workers 0)"
        return "off (--no-worker): run `hookline worker`"

    def begin_stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.begin_stop()

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()


def start_delivery(settings: Settings, workers: int | None, no_worker: bool) -> Delivery:
    """Start the worker processes ``workers`` asks for (default: one per core)."""
    if no_worker:
        return Delivery(supervisor=None, embedded=False)
    count = default_workers() if workers is None else workers
    if count == 0:
        return Delivery(supervisor=None, embedded=True)
    supervisor = Supervisor(count, drain_seconds=settings.drain_seconds)
    supervisor.start()
    return Delivery(supervisor=supervisor, embedded=False)


class _Server(uvicorn.Server):
    """uvicorn, telling the worker processes to drain the moment a signal arrives.

    They then finish their in-flight attempts while uvicorn closes its connections,
    in parallel rather than one after the other.
    """

    def __init__(self, config: uvicorn.Config, delivery: Delivery) -> None:
        super().__init__(config)
        self.delivery = delivery

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.delivery.begin_stop()
        super().handle_exit(sig, frame)


def run_server(app: Any, host: str, port: int, delivery: Delivery) -> None:
    """Serve until SIGTERM or SIGINT; return (exit 0) once the workers have drained.

    uvicorn raises the signal it caught again after its shutdown, with the handlers it
    found at its start: ours only stop the workers, so serve goes on to wait for them
    and exits 0 instead of dying of that signal.
    """

    def stop_workers(_sig: int, _frame: FrameType | None) -> None:
        delivery.begin_stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop_workers)
    config = uvicorn.Config(app, host=host, port=port, log_level="info")
    server = _Server(config, delivery)
    try:
        server.run()
    finally:
        delivery.stop()
    if not server.started:  # the port was taken, or the app's start-up failed
        raise SystemExit(STARTUP_FAILURE)
