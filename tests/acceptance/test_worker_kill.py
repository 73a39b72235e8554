"""A worker SIGKILLed in the middle of 5,000 deliveries loses none of them.

Real processes: ``hookline serve --no-worker`` for the API and ``hookline worker`` for
delivery, sharing one database (SQLite file or PostgreSQL). The receiver lives in the
test process. It answers the first ``HOLD_AFTER`` deliveries at once, then stops
answering (holds every further request open), so the worker is certain to have
requests in flight when it is killed. After the kill the receiver answers again, a
second worker starts, takes over the dead worker's expired leases, and every event
must arrive. Duplicates are allowed (at least once), but only for the deliveries the
dead worker had leased.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hookline.devtools.fake import fake_data
from tests.conftest import POSTGRES_ADMIN_URL, _postgres_unavailable
from tests.support.process import Process, free_port, wait_until
from tests.support.server import wait_healthy

TOPIC = "receipt.receipt_validated"
EVENTS = 5_000
BATCH = 1_000
HOLD_AFTER = 1_000  # distinct deliveries answered before the receiver stops answering
CONCURRENCY = 100  # the worker's sending slots: the most it can have in flight
SEND_TIMEOUT = 2.0
LEASE_SECONDS = 3.0
OPERATOR_TOKEN = "hlo_acceptance_operator"
INGEST_TOKEN = "hli_acceptance_ingest"


# -- the receiver ------------------------------------------------------------------


@dataclass
class Hit:
    key: str
    signature: str
    body: bytes


@dataclass
class Receiver:
    """An aiohttp server on loopback in its own thread and loop; records every request."""

    hold_after: int
    port: int = 0
    hits: list[Hit] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    held_keys: set[str] = field(default_factory=set)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _open: bool = False  # True once released: nothing is held any more
    _loop: asyncio.AbstractEventLoop | None = None
    _gate: asyncio.Event | None = None
    _stop: asyncio.Event | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        key = request.headers.get("CrescLab-Idempotency-Key", "")
        hit = Hit(key, request.headers.get("CrescLab-Signature", ""), body)
        with self._cond:
            hold = not self._open and len(self.counts) >= self.hold_after
            self.hits.append(hit)
            self.counts[key] += 1
            if hold:
                self.held_keys.add(key)
            self._cond.notify_all()
        if hold:
            assert self._gate is not None
            await self._gate.wait()
        return web.Response(text="OK")

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._gate = asyncio.Event()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server) and server.sockets
        self.port = int(server.sockets[0].getsockname()[1])
        ready.set()
        await self._stop.wait()
        self._gate.set()
        await runner.cleanup()

    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(ready),), name="receiver", daemon=True
        )
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the receiver did not start")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def release(self) -> None:
        """Answer the held requests and every later one at once."""
        with self._cond:
            self._open = True
        assert self._loop is not None and self._gate is not None
        self._loop.call_soon_threadsafe(self._gate.set)

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def snapshot(self) -> tuple[list[Hit], Counter[str], set[str]]:
        with self._cond:
            return list(self.hits), Counter(self.counts), set(self.held_keys)


# -- the hookline processes --------------------------------------------------------


class Processes:
    """Every child of one test: stopped at teardown, their output shown on failure."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.all: list[Process] = []

    def start(self, name: str, *args: str) -> Process:
        proc = Process(name, *args, env=self.env)
        self.all.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.all):
            proc.stop()

    def report(self) -> str:
        parts = []
        for p in self.all:
            parts.append(f"----- {p.name} (exit {p.proc.returncode}) -----\n{p.output}")
        return "\n".join(parts)


# -- fixtures ----------------------------------------------------------------------


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "COLUMNS": "200",
            "HOOKLINE_OPERATOR_TOKEN": OPERATOR_TOKEN,
            "HOOKLINE_INGEST_TOKEN": INGEST_TOKEN,
            "HOOKLINE_SECRET_KEY": "acceptance-secret-key",
            "HOOKLINE_ALLOW_HTTP": "true",
            "HOOKLINE_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
            "HOOKLINE_LEASE_SECONDS": str(LEASE_SECONDS),
            "HOOKLINE_SEND_TIMEOUT": str(SEND_TIMEOUT),
            "HOOKLINE_POLL_INTERVAL": "0.2",
            "HOOKLINE_WORKER_CONCURRENCY": str(CONCURRENCY),
            # one webhook may use every slot (its own cap would otherwise be 50)
            "HOOKLINE_WEBHOOK_CONCURRENCY": str(CONCURRENCY),
        }
    )
    return env


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def hookline_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment both processes share: one SQLite file, or a fresh PG database."""
    env = _base_env()
    env["HOOKLINE_DATA_DIR"] = str(tmp_path / "var")
    if request.param == "sqlite":
        yield env
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"hookline_accept_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any connection failure means "no server"
        admin.dispose()
        _postgres_unavailable(str(exc).splitlines()[0])
    env["HOOKLINE_DATABASE_URL"] = (
        make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    )
    try:
        yield env
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(hold_after=HOLD_AFTER)
    r.start()
    yield r
    r.stop()


@pytest.fixture
def processes(hookline_env: dict[str, str]) -> Iterator[Processes]:
    procs = Processes(hookline_env)
    try:
        yield procs
    finally:
        procs.stop_all()


# -- API helpers -------------------------------------------------------------------


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def list_deliveries(api: httpx.Client, webhook_id: str, state: str) -> list[dict[str, Any]]:
    """Every delivery of the webhook in ``state``, following the cursor."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"state": state, "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = _ok(api.get(f"/v1/webhooks/{webhook_id}/deliveries", params=params))
        found.extend(page["data"])
        cursor = page["next_cursor"]
        if not cursor:
            return found


def describe(api: httpx.Client, webhook_id: str, keys: set[str]) -> str:
    """The deliveries with these idempotency keys as the API shows them (for failures)."""
    rows = [
        d
        for state in ("pending", "in_flight", "delivered", "failed")
        for d in list_deliveries(api, webhook_id, state)
        if d["idempotency_key"] in keys
    ]
    states = Counter(d["state"] for d in rows)
    return f"{len(keys)} deliveries, states {dict(states)}; e.g. {rows[:3]}"


def unfinished(api: httpx.Client, webhook_id: str) -> int:
    return sum(len(list_deliveries(api, webhook_id, s)) for s in ("pending", "in_flight"))


def publish(base: str, platform_id: str) -> dict[str, dict[str, Any]]:
    """Publish EVENTS events in batches of BATCH; answers their data by event id."""
    published: dict[str, dict[str, Any]] = {}
    headers = {"Authorization": f"Bearer {INGEST_TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as ingest:
        for start in range(0, EVENTS, BATCH):
            batch: list[dict[str, Any]] = [
                {
                    "platform_id": platform_id,
                    "topic": TOPIC,
                    "data": fake_data(TOPIC, random.Random(i)),
                    "id": f"kill-test-{i}",
                }
                for i in range(start, start + BATCH)
            ]
            answer = _ok(ingest.post("/internal/v1/events/batch", json={"events": batch}), 202)
            assert (answer["accepted"], answer["rejected"]) == (BATCH, 0), answer
            for sent, result in zip(batch, answer["results"], strict=True):
                assert result["deliveries"] == 1 and not result.get("duplicate"), result
                published[result["event_id"]] = sent["data"]
    assert len(published) == EVENTS
    return published


# -- the test ----------------------------------------------------------------------


def test_a_killed_worker_loses_no_delivery(
    hookline_env: dict[str, str], receiver: Receiver, processes: Processes
) -> None:
    with httpx.Client(timeout=30) as op, httpx.Client(timeout=30) as api:
        try:
            _run_scenario(hookline_env, receiver, processes, op, api)
        except BaseException:
            print("\n" + processes.report())  # shown with the failure (or live with -s)
            raise


def _run_scenario(
    env: dict[str, str],
    receiver: Receiver,
    processes: Processes,
    op: httpx.Client,
    api: httpx.Client,
) -> None:
    started = time.monotonic()
    backend = "postgresql" if "HOOKLINE_DATABASE_URL" in env else "sqlite"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # the server migrates first, so the worker does not race it to create the schema
    server = processes.start(
        "serve", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)
    )
    wait_healthy(server, base)
    worker1 = processes.start("worker 1", "worker")
    worker1.wait_for_line("worker ", timeout=60)

    op.base_url = api.base_url = httpx.URL(base)
    op.headers["Authorization"] = f"Bearer {OPERATOR_TOKEN}"
    platform = _ok(op.post("/v1/admin/platforms", json={"name": "Kill test"}), 201)
    until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    _ok(op.put(f"/v1/admin/platforms/{platform['id']}/zones/1", json={"valid_until": until}))
    api.headers["Authorization"] = f"Bearer {platform['api_token']}"
    hook = {"name": "receiver", "url": receiver.url, "topics": [TOPIC]}
    webhook_id = _ok(api.post("/v1/webhooks", json=hook), 201)["id"]
    secret = _ok(api.get(f"/v1/webhooks/{webhook_id}/secret"))["secret"]

    # 5,000 events in batches of 1,000, published alongside, so that the kill below
    # comes as soon as the receiver holds requests, whatever the ingest speed
    with ThreadPoolExecutor(max_workers=1) as pool:
        publishing = pool.submit(publish, base, platform["id"])
        # The receiver holds every request after the first HOLD_AFTER. Once worker 1
        # has requests held (ideally all its slots), kill it: a held request times out
        # after SEND_TIMEOUT, so the kill must come well before that.
        deadline = time.monotonic() + 90
        while not receiver.wait_for(lambda r: len(r.held_keys) > 0, timeout=0.2):
            if publishing.done() and publishing.exception() is not None:
                publishing.result()
            if time.monotonic() > deadline:
                pytest.fail(f"the receiver never held a request: {len(receiver.counts)} seen")
        receiver.wait_for(lambda r: len(r.held_keys) >= CONCURRENCY, timeout=1.0)
        worker1.proc.kill()
        worker1.proc.wait(timeout=10)
        published = publishing.result(timeout=120)
    assert worker1.proc.returncode == -signal.SIGKILL
    _, counts_at_kill, held = receiver.snapshot()
    leased_at_kill = {d["idempotency_key"] for d in list_deliveries(api, webhook_id, "in_flight")}
    delivered_at_kill = len(list_deliveries(api, webhook_id, "delivered"))
    print(
        f"\n[{backend}] worker 1 killed: the receiver had seen {len(counts_at_kill)} deliveries"
        f" and held {len(held)}; the API had {delivered_at_kill} delivered and"
        f" {len(leased_at_kill)} in flight"
    )
    assert 0 < len(counts_at_kill) < EVENTS, "the kill was not in the middle of the work"
    assert held, "worker 1 had nothing in flight when it was killed"
    # an unanswered request cannot have been settled: its delivery is still leased
    assert held <= leased_at_kill, describe(api, webhook_id, held - leased_at_kill)
    assert len(leased_at_kill) <= 2 * CONCURRENCY  # sending slots, plus results not yet written

    receiver.release()
    worker2 = processes.start("worker 2", "worker")
    worker2.wait_for_line("worker ", timeout=60)

    if not receiver.wait_for(lambda r: len(r.counts) >= EVENTS, timeout=120):
        pytest.fail(f"after 120 s only {len(receiver.snapshot()[1])} of {EVENTS} arrived")
    wait_until("no pending or in-flight delivery", lambda: unfinished(api, webhook_id) == 0, 60)

    assert worker2.terminate(timeout=30) == 0, "worker 2 did not exit 0 on SIGTERM"

    hits, counts, _ = receiver.snapshot()
    delivered = list_deliveries(api, webhook_id, "delivered")
    assert not list_deliveries(api, webhook_id, "failed")
    assert len(delivered) == EVENTS
    key_to_event = {d["idempotency_key"]: d["event_id"] for d in delivered}
    assert len(key_to_event) == EVENTS  # one key per delivery
    assert set(key_to_event.values()) == set(published)

    # none lost: every delivery's key arrived, and nothing else did
    assert len(counts) == EVENTS, f"{EVENTS - len(counts)} lost"
    assert set(counts) == set(key_to_event)
    # each request was the event it names: valid JSON, right topic and data, signed
    for hit in hits:
        body = json.loads(hit.body)
        assert list(body) == ["timestamp", "topic", "data"]
        assert body["topic"] == TOPIC
        assert body["data"] == published[key_to_event[hit.key]]
        expected = hmac.new(secret.encode(), hit.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(hit.signature, expected), hit.key

    duplicates = len(hits) - len(counts)
    twice = {k for k, n in counts.items() if n > 1}
    print(
        f"[{backend}] {len(hits)} requests for {len(counts)} deliveries: {duplicates}"
        f" duplicates; {time.monotonic() - started:.1f} s"
    )
    # at least once: what worker 1 left unanswered was sent again ...
    assert held <= twice, describe(api, webhook_id, held - twice)
    # ... and only what it had leased was sent twice, and only twice
    assert 0 <= duplicates <= len(leased_at_kill)
    assert twice <= leased_at_kill, describe(api, webhook_id, twice - leased_at_kill)
    assert max(counts.values()) <= 2
