"""Two API processes and three workers on one PostgreSQL; one worker SIGKILLed mid-burst.

The machines of a scaled-out install, as processes: ``serve --no-worker`` on two
ports and three ``hookline worker``, all on one database, directly or through
PgBouncer in transaction mode (workers then LISTEN on the direct URL). A producer
spreads a burst over both APIs. The receiver answers the first ``HOLD_AFTER``
deliveries, then holds every request open until every worker's slots are full; one
worker is killed, the receiver answers again, and the two left finish the work,
taking over the dead worker's leases once they expire.

Every accepted event must arrive; a delivery may arrive twice only if the killed
worker held its lease, so there are at most as many duplicates as it had requests
in flight (its concurrency).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import pytest

from hookline.catalog import TOPICS
from tests.conftest import postgres_database
from tests.support.counting_receiver import CountingReceiver
from tests.support.fleet import (
    TOPIC,
    delivered_keys,
    delivery_states,
    fleet_env,
    leased_by,
    make_webhook,
    publish,
)
from tests.support.pgbouncer import pgbouncer
from tests.support.process import Process, free_port, wait_until
from tests.support.shared_db import Processes

pytestmark = pytest.mark.postgres

WORKERS = 3
CONCURRENCY = 30  # each worker's sending slots
EVENTS = 1_500
BATCH = 150
HOLD_AFTER = 300
SEND_TIMEOUT = 10.0  # the held requests must not time out before the release
LEASE_SECONDS = 11.0
DATA: dict[str, Any] = dict(TOPICS[TOPIC].sample)


@pytest.fixture(params=["direct", "pgbouncer"])
def database_env(request: pytest.FixtureRequest) -> Iterator[tuple[str, dict[str, str]]]:
    """(direct URL, the processes' environment): straight to PostgreSQL or via PgBouncer."""
    with ExitStack() as stack:
        direct = stack.enter_context(postgres_database("hookline_fleet"))
        env = {"HOOKLINE_DATABASE_URL": direct}
        if request.param == "pgbouncer":
            bouncer = stack.enter_context(pgbouncer(direct))
            env = {
                "HOOKLINE_DATABASE_URL": bouncer.url(direct),
                "HOOKLINE_DATABASE_POOLER": "transaction",
                "HOOKLINE_LISTEN_DATABASE_URL": direct,
            }
        yield direct, env


def test_every_accepted_event_arrives_when_a_worker_dies(
    database_env: tuple[str, dict[str, str]],
) -> None:
    direct, env = database_env
    fleet = Processes(
        fleet_env(
            **env,
            HOOKLINE_SEND_TIMEOUT=str(SEND_TIMEOUT),
            HOOKLINE_LEASE_SECONDS=str(LEASE_SECONDS),
            HOOKLINE_POLL_INTERVAL="0.5",
            HOOKLINE_WORKER_CONCURRENCY=str(CONCURRENCY),
            # one webhook may fill every worker's slots
            HOOKLINE_WEBHOOK_CONCURRENCY=str(WORKERS * CONCURRENCY),
        )
    )
    try:
        with CountingReceiver(hold_after=HOLD_AFTER).running() as receiver:
            _scenario(fleet, receiver, direct)
    except BaseException:
        print("\n" + fleet.report())  # shown with the failure
        raise
    finally:
        fleet.stop_all()


def _scenario(fleet: Processes, receiver: CountingReceiver, direct: str) -> None:
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    fleet.serve("api 1", ports[0])  # migrates first: nobody races it for the schema
    fleet.serve("api 2", ports[1])
    workers = [fleet.worker(f"worker {n}") for n in range(1, WORKERS + 1)]
    platform_id, _ = make_webhook(bases[0], receiver.url())

    with ThreadPoolExecutor(max_workers=2) as pool:
        batches = [
            pool.submit(publish, bases[n % 2], platform_id, range(start, start + BATCH), DATA)
            for n, start in enumerate(range(0, EVENTS, BATCH))
        ]
        victim, leased = _kill_one_when_all_are_busy(workers, receiver, direct)
        receiver.release()
        accepted = sum(batch.result(timeout=120) for batch in batches)
    assert accepted == EVENTS

    if not receiver.wait_for(lambda r: len(r.counts) >= EVENTS, timeout=120):
        pytest.fail(f"only {len(receiver.snapshot()[1])} of {EVENTS} deliveries arrived")
    wait_until(
        "every delivery settled",
        lambda: delivery_states(direct).get("delivered", 0) == EVENTS,
        timeout=60,
    )
    for worker in workers:
        if worker is not victim:
            assert worker.terminate(timeout=30) == 0, f"{worker.name} did not exit 0"

    hits, counts, held = receiver.snapshot()
    assert delivery_states(direct) == {"delivered": EVENTS}
    assert set(counts) == delivered_keys(direct), "a request for no delivery, or one lost"
    twice = {key for key, n in counts.items() if n > 1}
    requests = len(hits)
    duplicates = requests - len(counts)
    print(
        f"\n{requests} requests for {len(counts)} deliveries;"
        f" the killed worker leased {len(leased)}"
    )
    assert held & leased <= twice, "a request the dead worker left unanswered was not resent"
    assert twice <= leased, "a delivery the dead worker did not hold was sent twice"
    assert duplicates <= CONCURRENCY and max(counts.values()) == 2


def _kill_one_when_all_are_busy(
    workers: list[Process], receiver: CountingReceiver, direct: str
) -> tuple[Process, set[str]]:
    """SIGKILL worker 1 once every worker's slots hold requests: it, and what it leased."""
    victim = workers[0]
    deadline = time.monotonic() + 90
    while not receiver.wait_for(lambda r: len(r.held_keys) >= WORKERS * CONCURRENCY, timeout=0.2):
        for worker in workers:
            worker.exited_early()
        if time.monotonic() > deadline:
            pytest.fail(f"the workers never filled their slots: {len(receiver.held_keys)} held")
    victim.kill()
    assert victim.proc.returncode == -signal.SIGKILL
    leased = leased_by(direct, victim.proc.pid)  # its leases outlive it until they expire
    assert 0 < len(leased) <= 2 * CONCURRENCY, len(leased)
    return victim, leased
