"""Several hookline processes on one PostgreSQL database, and a receiver that counts.

For the "many machines" tests: a fresh database per test, ``serve --no-worker`` and
``hookline worker`` children sharing it, a loopback receiver that counts each
delivery by its idempotency key and can hold requests open (so a worker is sure to
have requests in flight when it is killed), and the few API and database reads the
tests set up and check with.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiohttp import web
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from hookline.store.tables import deliveries
from tests.conftest import POSTGRES_ADMIN_URL, _postgres_unavailable
from tests.support.process import Process
from tests.support.server import wait_healthy

TOPIC = "receipt.receipt_validated"
OPERATOR_TOKEN = "hlo_fleet_operator"
INGEST_TOKEN = "hli_fleet_ingest"


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database on the test server (the processes migrate it), dropped after."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"hookline_fleet_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any connection failure means "no server"
        admin.dispose()
        _postgres_unavailable(str(exc).splitlines()[0])
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fleet_env(**values: str) -> dict[str, str]:
    """This environment without any HOOKLINE_* of the caller's, plus the tests' own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(
        PYTHONUNBUFFERED="1",
        PYTHONUTF8="1",
        COLUMNS="200",
        HOOKLINE_OPERATOR_TOKEN=OPERATOR_TOKEN,
        HOOKLINE_INGEST_TOKEN=INGEST_TOKEN,
        HOOKLINE_SECRET_KEY="fleet-secret-key",
        HOOKLINE_ALLOW_HTTP="true",
        HOOKLINE_ALLOW_PRIVATE_NETWORKS="127.0.0.0/8",
    )
    env.update(values)
    return env


class Fleet:
    """Every child of one test, stopped at the end; ``report`` shows their output."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.all: list[Process] = []

    def start(self, name: str, *args: str, **env: str) -> Process:
        proc = Process(name, *args, env={**self.env, **env})
        self.all.append(proc)
        return proc

    def serve(self, name: str, port: int) -> Process:
        """An API process (no worker), ready: it has migrated and answers /healthz."""
        proc = self.start(name, "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port))
        wait_healthy(proc, f"http://127.0.0.1:{port}")
        return proc

    def worker(self, name: str, **env: str) -> Process:
        proc = self.start(name, "worker", **env)
        proc.wait_for_line("worker ", timeout=60)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.all):
            proc.stop()

    def report(self) -> str:
        return "\n".join(
            f"----- {p.name} (exit {p.proc.returncode}) -----\n{p.output}" for p in self.all
        )


class CountingReceiver:
    """aiohttp on loopback in its own thread: counts requests by idempotency key.

    After ``hold_after`` distinct keys it holds every new request open until
    ``release``; ``held`` is what it holds (or held). ``hold_after=None``: never holds.
    """

    def __init__(self, hold_after: int | None = None) -> None:
        self.hold_after = hold_after
        self.port = 0
        self.hits = 0
        self.counts: Counter[str] = Counter()
        self.held: set[str] = set()
        self._cond = threading.Condition()
        self._open = hold_after is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        key = request.headers.get("CrescLab-Idempotency-Key", "")
        with self._cond:
            hold = not self._open and len(self.counts) >= (self.hold_after or 0)
            self.hits += 1
            self.counts[key] += 1
            if hold:
                self.held.add(key)
            self._cond.notify_all()
        if hold:
            assert self._gate is not None
            await self._gate.wait()
        return web.Response(text="OK")

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._gate, self._stop = asyncio.Event(), asyncio.Event()
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

    @contextmanager
    def running(self) -> Iterator[CountingReceiver]:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(ready),), name="receiver", daemon=True
        )
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the receiver did not start")
        try:
            yield self
        finally:
            if self._loop is not None and self._stop is not None:
                self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)

    def release(self) -> None:
        """Answer the held requests and every later one at once."""
        with self._cond:
            self._open = True
        assert self._loop is not None and self._gate is not None
        self._loop.call_soon_threadsafe(self._gate.set)

    def wait_for(self, predicate: Callable[[CountingReceiver], bool], timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def snapshot(self) -> tuple[int, Counter[str], set[str]]:
        with self._cond:
            return self.hits, Counter(self.counts), set(self.held)


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def make_webhook(base: str, url: str) -> tuple[str, str]:
    """A platform with zone 1 valid for a month and one webhook to ``url``: the ids."""
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    with httpx.Client(base_url=base, headers=operator, timeout=30) as op:
        platform = _ok(op.post("/v1/admin/platforms", json={"name": "Fleet"}), 201)
        until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        _ok(op.put(f"/v1/admin/platforms/{platform['id']}/zones/1", json={"valid_until": until}))
    member = {"Authorization": f"Bearer {platform['api_token']}"}
    with httpx.Client(base_url=base, headers=member, timeout=30) as api:
        hook = {"name": "receiver", "url": url, "topics": [TOPIC]}
        webhook_id: str = _ok(api.post("/v1/webhooks", json=hook), 201)["id"]
    return platform["id"], webhook_id


def publish(base: str, platform_id: str, ids: range, data: dict[str, Any]) -> int:
    """One batch of events with these ids through ``base``; answers how many were accepted."""
    events = [
        {"platform_id": platform_id, "topic": TOPIC, "data": data, "id": f"fleet-{i}"} for i in ids
    ]
    headers = {"Authorization": f"Bearer {INGEST_TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as ingest:
        answer = _ok(ingest.post("/internal/v1/events/batch", json={"events": events}), 202)
    assert answer["rejected"] == 0, answer
    accepted: int = answer["accepted"]
    return accepted


def delivery_states(url: str) -> dict[str, int]:
    """How many deliveries are in each state, read straight from the database."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = select(deliveries.c.state, func.count()).group_by(deliveries.c.state)
            return {state: int(n) for state, n in conn.execute(query).all()}
    finally:
        engine.dispose()


def leased_by(url: str, pid: int) -> set[str]:
    """Idempotency keys of the deliveries the worker process ``pid`` holds leases on."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = select(deliveries.c.idempotency_key).where(
                deliveries.c.state == "in_flight",
                deliveries.c.lease_owner.like(f"%:{pid}:%"),
            )
            return set(conn.execute(query).scalars())
    finally:
        engine.dispose()


def delivered_keys(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = select(deliveries.c.idempotency_key).where(deliveries.c.state == "delivered")
            return set(conn.execute(query).scalars())
    finally:
        engine.dispose()
