"""The kill scenario: a burst of events while workers and the API are SIGKILLed.

``hookline serve --no-worker`` and two ``hookline worker`` processes share one
database. A producer publishes the burst (sending again what was not accepted); the
test SIGKILLs a worker each time the receiver has seen the next share of the
deliveries (and starts a new one in its place), and the API each time the producer
has had the next share of its events accepted (and starts it again on the same port).
Then every accepted event must arrive. The CI size is small; ``make soak`` runs the
same code with 100,000 deliveries, 12 worker and 3 API SIGKILLs (docs/faults.md).
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import httpx
import pytest

from tests.faults.producer import Producer
from tests.support.counting_receiver import CountingReceiver
from tests.support.process import Process, wait_until
from tests.support.server import wait_healthy
from tests.support.shared_db import DeliveryRow, Processes, delivery_rows, list_deliveries


@dataclass(frozen=True)
class Plan:
    events: int  # one webhook: as many deliveries
    worker_kills: int
    api_kills: int
    batch: int
    rate: float  # events per second the producer offers

    @classmethod
    def from_env(cls) -> Plan:
        """CI's size, or ``make soak``'s (HOOKLINE_SOAK=1; HOOKLINE_SOAK_EVENTS=n)."""
        if os.environ.get("HOOKLINE_SOAK", "") not in ("", "0"):
            events = int(os.environ.get("HOOKLINE_SOAK_EVENTS", "100000"))
            # publishing lasts about 50 s, so the API kills land in the burst at any size
            return cls(events, worker_kills=12, api_kills=3, batch=500, rate=events / 50)
        return cls(2_000, worker_kills=1, api_kills=1, batch=100, rate=400)

    @property
    def patience(self) -> float:
        """Seconds for everything to arrive after the last kill."""
        return 60 + self.events / 100


@dataclass
class Cluster:
    """The children of one run, and the kills done to them.

    A kill does not wait for its replacement to be ready, so kills keep pace with the
    burst on a slow machine; a victim is always a process that had started working.
    """

    processes: Processes
    port: int
    server: Process
    workers: list[Process]
    kills: list[str] = field(default_factory=list)

    def kill_worker(self, seen: int) -> None:
        victim = self.workers.pop(0)
        victim.wait_for_line("worker ", timeout=60)
        _sigkill(victim)
        self.kills.append(f"{victim.name} at {seen} received")
        self.workers.append(self.processes.start(self._next_name("worker"), "worker"))

    def kill_api(self, accepted: int) -> None:
        wait_healthy(self.server, f"http://127.0.0.1:{self.port}")
        _sigkill(self.server)
        self.kills.append(f"{self.server.name} at {accepted} accepted")
        args = ("serve", "--no-worker", "--host", "127.0.0.1", "--port", str(self.port))
        self.server = self.processes.start(self._next_name("serve"), *args)

    def _next_name(self, kind: str) -> str:
        return f"{kind} {sum(p.name.startswith(kind) for p in self.processes.all) + 1}"

    def check_alive(self) -> None:
        """Every current process started and still runs."""
        wait_healthy(self.server, f"http://127.0.0.1:{self.port}")
        for worker in self.workers:
            worker.wait_for_line("worker ", timeout=60)
        dead = [p.name for p in [self.server, *self.workers] if p.proc.poll() is not None]
        assert not dead, f"exited: {dead}"


def _sigkill(proc: Process) -> None:
    proc.proc.send_signal(signal.SIGKILL)
    proc.proc.wait(timeout=10)
    assert proc.proc.returncode == -signal.SIGKILL, f"{proc.name}: {proc.proc.returncode}"


def shares(total: int, n: int) -> list[int]:
    """``n`` points splitting ``total`` evenly: where the kills come."""
    return [total * (k + 1) // (n + 1) for k in range(n)]


def kill_along(
    cluster: Cluster,
    plan: Plan,
    producer: Producer,
    publishing: Future[None],
    receiver: CountingReceiver,
) -> None:
    """SIGKILL workers and the API at their points, while the burst goes on."""
    worker_at = shares(plan.events, plan.worker_kills)
    api_at = shares(plan.events, plan.api_kills)
    deadline = time.monotonic() + plan.patience + plan.events / plan.rate
    while worker_at or api_at:
        if time.monotonic() > deadline:
            pytest.fail(f"kills left {worker_at} / {api_at}: {receiver.seen()} received")
        if publishing.done():
            publishing.result()  # the producer's failure, if any
        accepted = producer.accepted_count()
        if api_at and accepted >= api_at[0]:
            assert accepted < plan.events, "the API kill came after the burst"
            cluster.kill_api(accepted)
            api_at.pop(0)
            continue
        seen = receiver.seen()
        if worker_at and seen >= worker_at[0]:
            assert seen < plan.events, "the worker kill came after the burst"
            cluster.kill_worker(seen)
            worker_at.pop(0)
            continue
        receiver.wait_for(seen_at_least(worker_at[0] if worker_at else plan.events), 0.05)


def seen_at_least(n: int) -> Callable[[CountingReceiver], bool]:
    return lambda r: len(r.counts) >= n


@dataclass(frozen=True)
class Outcome:
    accepted: int
    lost: int  # accepted events no request arrived for
    unknown: int  # requests for no delivery of an accepted event
    duplicates: int  # requests beyond the first for a delivery
    seconds: float
    listed: int  # deliveries the API's log lists as delivered
    detail: str = ""  # when something was lost: what the API says of it

    def line(self, backend: str, cluster: Cluster) -> str:
        share = 100 * self.duplicates / max(1, self.accepted)
        return (
            f"[{backend}] {self.accepted} events accepted, {len(cluster.kills)} SIGKILLs"
            f" ({'; '.join(cluster.kills)}): lost {self.lost}, unknown {self.unknown},"
            f" duplicates {self.duplicates} ({share:.2f} %),"
            f" {self.accepted / self.seconds:.0f} deliveries/s over {self.seconds:.1f} s"
        )


def settled(rows: list[DeliveryRow]) -> bool:
    return all(row.state in ("delivered", "failed", "cancelled") for row in rows)


def settle(
    env: dict[str, str],
    api: httpx.Client,
    webhook_id: str,
    producer: Producer,
    receiver: CountingReceiver,
    patience: float,
    started: float,
) -> Outcome:
    """Wait for every accepted event to arrive (bounded), then count what did."""
    expected = producer.accepted_count()
    receiver.wait_for(lambda r: len(r.counts) >= expected, timeout=patience)
    seconds = time.monotonic() - started
    # one query, one snapshot: two API listings (pending, then in flight) can both miss
    # a delivery that a reclaim moves from one to the other between them
    wait_until("every delivery settled", lambda: settled(delivery_rows(env)), 60, step=0.5)
    rows = delivery_rows(env)
    listed = len(list_deliveries(api, webhook_id, "delivered"))
    states = Counter(row.state for row in rows)
    key_of = {row.event_id: row.idempotency_key for row in rows}
    _, counts, _ = receiver.snapshot()
    accepted = producer.event_ids()
    extra_events = set(key_of) - accepted
    assert not extra_events, f"{len(extra_events)} events made by a producer's retry"
    assert len(rows) == len(key_of), "an event with two deliveries to one webhook"
    lost = [event_id for event_id in accepted if counts[key_of.get(event_id, "")] == 0]
    unknown = set(counts) - set(key_of.values())
    detail = ""
    if lost or unknown or listed != states["delivered"] or set(states) != {"delivered"}:
        detail = (
            f"database: {len(rows)} deliveries, states {dict(states)}; the API lists"
            f" {listed} delivered; lost e.g. {lost[:3]}; unknown keys e.g. {sorted(unknown)[:3]}"
        )
    return Outcome(
        accepted=len(accepted),
        lost=len(lost),
        unknown=len(unknown),
        duplicates=sum(counts.values()) - len(counts),
        seconds=seconds,
        listed=listed,
        detail=detail,
    )
