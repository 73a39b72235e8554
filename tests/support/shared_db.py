"""Real ``hookline serve`` and ``hookline worker`` processes sharing one database (the
fault suite's and the worker-kill test's; ``cluster`` holds serve's worker-process tests').

What the acceptance and fault tests share: the environment the children run with, a
fresh PostgreSQL database per test, the set of children (stopped at teardown, their
output shown on failure), and the few API calls that set up a platform and read the
delivery log back.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import httpx
from sqlalchemy import create_engine, select

from hookline.store.tables import deliveries
from tests.conftest import postgres_database
from tests.support.process import Process
from tests.support.server import wait_healthy

TOPIC = "receipt.receipt_validated"
OPERATOR_TOKEN = "hlo_acceptance_operator"
INGEST_TOKEN = "hli_acceptance_ingest"
PRODUCER = {"Authorization": f"Bearer {INGEST_TOKEN}"}


def base_env(
    *, concurrency: int, lease_seconds: float, send_timeout: float, **extra: str
) -> dict[str, str]:
    """The children's environment: nothing ``HOOKLINE_*`` leaks in from the caller's."""
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
            "HOOKLINE_LEASE_SECONDS": str(lease_seconds),
            "HOOKLINE_SEND_TIMEOUT": str(send_timeout),
            "HOOKLINE_POLL_INTERVAL": "0.2",
            "HOOKLINE_WORKER_CONCURRENCY": str(concurrency),
            # one webhook may use every slot (its own cap would otherwise be 50)
            "HOOKLINE_WEBHOOK_CONCURRENCY": str(concurrency),
        }
    )
    env.update(extra)
    return env


def backend_of(env: dict[str, str]) -> str:
    return "postgresql" if "HOOKLINE_DATABASE_URL" in env else "sqlite"


@contextmanager
def backend_env(
    backend: str,
    data_dir: Path,
    *,
    concurrency: int,
    lease_seconds: float,
    send_timeout: float,
    **extra: str,
) -> Iterator[dict[str, str]]:
    """The environment of one test's children: one SQLite file in ``data_dir``, or a
    fresh PostgreSQL database (dropped after)."""
    env = base_env(
        concurrency=concurrency,
        lease_seconds=lease_seconds,
        send_timeout=send_timeout,
        HOOKLINE_DATA_DIR=str(data_dir),
        **extra,
    )
    if backend == "sqlite":
        yield env
        return
    with postgres_database("hookline_accept") as url:
        env["HOOKLINE_DATABASE_URL"] = url
        yield env


class Processes:
    """Every child of one test: stopped at teardown, their output shown on failure."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.all: list[Process] = []

    def start(self, name: str, *args: str) -> Process:
        proc = Process(name, *args, env=self.env)
        self.all.append(proc)
        return proc

    def serve(self, name: str, port: int, *, worker: bool = False) -> Process:
        """``hookline serve`` on ``port``, waited for until /healthz answers."""
        args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
        if not worker:
            args.append("--no-worker")
        server = self.start(name, *args)
        wait_healthy(server, f"http://127.0.0.1:{port}")
        return server

    def worker(self, name: str) -> Process:
        """``hookline worker``, waited for until it says it runs."""
        proc = self.start(name, "worker")
        proc.wait_for_line("worker ", timeout=60)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.all):
            proc.stop()

    def report(self) -> str:
        parts = []
        for p in self.all:
            parts.append(f"----- {p.name} (exit {p.proc.returncode}) -----\n{p.output}")
        return "\n".join(parts)


# -- the API: to set up and to check ------------------------------------------------


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


@dataclass
class Platform:
    """A platform with zone 1 valid, and a client acting as it."""

    id: str
    api: httpx.Client

    def add_webhook(self, name: str, url: str) -> str:
        hook = {"name": name, "url": url, "topics": [TOPIC]}
        webhook_id: str = ok(self.api.post("/v1/webhooks", json=hook), 201)["id"]
        return webhook_id

    def secret(self, webhook_id: str) -> str:
        secret: str = ok(self.api.get(f"/v1/webhooks/{webhook_id}/secret"))["secret"]
        return secret


def make_platform(base: str, api: httpx.Client, name: str = "Fault test") -> Platform:
    """Create a platform through the operator API; ``api`` becomes its client."""
    op = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    api.base_url = httpx.URL(base)
    created = ok(api.post("/v1/admin/platforms", json={"name": name}, headers=op), 201)
    until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    zone = {"valid_until": until}
    ok(api.put(f"/v1/admin/platforms/{created['id']}/zones/1", json=zone, headers=op))
    api.headers["Authorization"] = f"Bearer {created['api_token']}"
    return Platform(created["id"], api)


def list_deliveries(api: httpx.Client, webhook_id: str, state: str) -> list[dict[str, Any]]:
    """Every delivery of the webhook in ``state``, following the cursor."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"state": state, "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = ok(api.get(f"/v1/webhooks/{webhook_id}/deliveries", params=params))
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


class DeliveryRow(NamedTuple):
    event_id: str
    idempotency_key: str
    state: str


def delivery_rows(env: dict[str, str]) -> list[DeliveryRow]:
    """(event_id, idempotency_key, state) of every delivery, read from the database
    itself: what the API's listing shows is checked against it, not trusted."""
    url = env.get("HOOKLINE_DATABASE_URL")
    if not url:
        url = f"sqlite:///{(Path(env['HOOKLINE_DATA_DIR']) / 'hookline.db').resolve()}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            c = deliveries.c
            query = select(c.event_id, c.idempotency_key, c.state)
            return [DeliveryRow(*row) for row in conn.execute(query)]
    finally:
        engine.dispose()


def unfinished(api: httpx.Client, webhook_id: str) -> int:
    return sum(len(list_deliveries(api, webhook_id, s)) for s in ("pending", "in_flight"))
