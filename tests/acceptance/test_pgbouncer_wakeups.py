"""Behind PgBouncer in transaction mode workers LISTEN on a direct URL, or poll.

LISTEN through a transaction pooler reaches nobody (the session that ran it goes back
to the pool), so a worker either gets ``HOOKLINE_LISTEN_DATABASE_URL`` or polls. The
first test proves the wake-up as tests/integration/test_wakeups.py does: the worker's
poll interval is far longer than the test's deadline, so a delivery that arrives in
time was started by the NOTIFY that ingest sent through PgBouncer. The second shows
that without the listen URL delivery still happens, by polling, and that the worker
said so at start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from hookline.catalog import TOPICS
from tests.conftest import postgres_database
from tests.support.counting_receiver import CountingReceiver
from tests.support.fleet import (
    TOPIC,
    delivery_states,
    fleet_env,
    make_webhook,
    publish,
)
from tests.support.pgbouncer import pgbouncer
from tests.support.process import free_port, wait_until
from tests.support.shared_db import Processes

pytestmark = pytest.mark.postgres

LONG_POLL = 120.0
DATA: dict[str, Any] = dict(TOPICS[TOPIC].sample)


@pytest.fixture
def pooled() -> Iterator[tuple[str, str]]:
    """(direct URL, the same database through PgBouncer in transaction mode)."""
    with ExitStack() as stack:
        direct = stack.enter_context(postgres_database("hookline_fleet"))
        bouncer = stack.enter_context(pgbouncer(direct))
        yield direct, bouncer.url(direct)


@pytest.fixture
def receiver() -> Iterator[CountingReceiver]:
    with CountingReceiver().running() as r:
        yield r


def _fleet(through_pgbouncer: str, **env: str) -> Processes:
    return Processes(
        fleet_env(
            HOOKLINE_DATABASE_URL=through_pgbouncer, HOOKLINE_DATABASE_POOLER="transaction", **env
        )
    )


def test_a_worker_listening_on_the_direct_url_wakes_at_once(
    pooled: tuple[str, str], receiver: CountingReceiver
) -> None:
    direct, through = pooled
    fleet = _fleet(
        through, HOOKLINE_LISTEN_DATABASE_URL=direct, HOOKLINE_POLL_INTERVAL=str(LONG_POLL)
    )
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        fleet.serve("api", port)
        worker = fleet.worker("worker")
        platform_id, _ = make_webhook(base, receiver.url())
        assert publish(base, platform_id, range(1), DATA) == 1
        assert receiver.wait_for(lambda r: len(r.counts) == 1, timeout=30)
        # settled means its settle-and-claim committed: the worker now waits LONG_POLL
        wait_until("the first delivery settled", lambda: _delivered(direct) == 1, timeout=30)
        assert publish(base, platform_id, range(1, 2), DATA) == 1
        assert receiver.wait_for(lambda r: len(r.counts) == 2, timeout=10), "not woken"
        assert "polling" not in worker.output
    except BaseException:
        print("\n" + fleet.report())
        raise
    finally:
        fleet.stop_all()


def test_without_a_listen_url_workers_poll_and_still_deliver(
    pooled: tuple[str, str], receiver: CountingReceiver
) -> None:
    direct, through = pooled
    fleet = _fleet(through, HOOKLINE_POLL_INTERVAL="0.5")
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        fleet.serve("api", port)
        worker = fleet.worker("worker")
        worker.wait_for_output("no HOOKLINE_LISTEN_DATABASE_URL", "polling every 0.5 s")
        platform_id, _ = make_webhook(base, receiver.url())
        assert publish(base, platform_id, range(100), DATA) == 100
        assert receiver.wait_for(lambda r: len(r.counts) == 100, timeout=60)
        wait_until("every delivery settled", lambda: _delivered(direct) == 100, timeout=30)
        assert worker.output.count("polling every") == 1  # said once, at start
    except BaseException:
        print("\n" + fleet.report())
        raise
    finally:
        fleet.stop_all()


def _delivered(url: str) -> int:
    return delivery_states(url).get("delivered", 0)
