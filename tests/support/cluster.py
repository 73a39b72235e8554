"""hookline processes sharing one database, a receiver they deliver to, and the API to check.

For acceptance tests of ``serve`` and its worker processes: one environment per test
(a SQLite file, or a fresh PostgreSQL database), a gated receiver on loopback, and
the few API calls that set up a platform with webhooks, publish, and count states.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from hookline.devtools.fake import fake_data
from tests.conftest import postgres_database
from tests.support.counting_receiver import listen_on_loopback
from tests.support.process import Process

TOPIC = "receipt.receipt_validated"
OPERATOR_TOKEN = "hlo_cluster_operator"
INGEST_TOKEN = "hli_cluster_ingest"
STATES = ("pending", "in_flight", "delivered", "failed")


def base_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment every process of one test shares; ``settings`` are HOOKLINE_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "PYTHONUTF8": "1",
            "COLUMNS": "200",
            "HOOKLINE_DATA_DIR": str(data_dir),
            "HOOKLINE_OPERATOR_TOKEN": OPERATOR_TOKEN,
            "HOOKLINE_INGEST_TOKEN": INGEST_TOKEN,
            "HOOKLINE_SECRET_KEY": "cluster-secret-key",
            "HOOKLINE_ALLOW_HTTP": "true",
            "HOOKLINE_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
        }
    )
    env.update({f"HOOKLINE_{k.upper()}": v for k, v in settings.items()})
    return env


@contextmanager
def database(backend: str, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """``env`` on a SQLite file in its data dir, or on a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield env
        return
    with postgres_database("hookline_cluster") as url:
        yield {**env, "HOOKLINE_DATABASE_URL": url}


def worker_pids(serve: Process) -> dict[int, list[int]]:
    """Every pid each worker process slot of ``serve`` has had, in order, from its log."""
    found: dict[int, list[int]] = {}
    for slot, pid in re.findall(r"worker process (\d+) started: pid (\d+)", serve.output):
        found.setdefault(int(slot), []).append(int(pid))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie has exited: it only awaits its reaper)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class GatedReceiver:
    """A loopback receiver: ``/ok`` answers at once, ``/gate`` once ``open_gate`` is
    called, ``/stuck`` never (until the receiver stops). Records keys by path."""

    def __init__(self) -> None:
        self.port = 0
        self.arrived: dict[str, Counter[str]] = {"/ok": Counter(), "/gate": Counter()}
        self.arrived["/stuck"] = Counter()
        self.answered: dict[str, set[str]] = {path: set() for path in self.arrived}
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        key = request.headers.get("CrescLab-Idempotency-Key", "")
        with self._cond:
            self.arrived[request.path][key] += 1
            self._cond.notify_all()
        assert self._gate is not None and self._stop is not None
        if request.path == "/gate":
            await self._gate.wait()
        elif request.path == "/stuck":
            await self._stop.wait()
        with self._cond:
            self.answered[request.path].add(key)
            self._cond.notify_all()
        return web.Response(text="OK")

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._gate, self._stop = asyncio.Event(), asyncio.Event()
        app = web.Application()
        for path in self.arrived:
            app.router.add_post(path, self._handle)
        runner, self.port = await listen_on_loopback(app)
        ready.set()
        await self._stop.wait()
        await runner.cleanup()

    @contextmanager
    def running(self) -> Iterator[GatedReceiver]:
        ready = threading.Event()
        thread = threading.Thread(target=asyncio.run, args=(self._serve(ready),), daemon=True)
        thread.start()
        if not ready.wait(60):
            raise RuntimeError("the receiver did not start")
        try:
            yield self
        finally:
            assert self._loop is not None and self._stop is not None
            self._loop.call_soon_threadsafe(self._stop.set)
            thread.join(10)

    def open_gate(self) -> None:
        assert self._loop is not None and self._gate is not None
        self._loop.call_soon_threadsafe(self._gate.set)

    def wait_for(
        self, what: str, predicate: Callable[[GatedReceiver], bool], timeout: float
    ) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(f"receiver: {what} not seen within {timeout} s")


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


class Tenant:
    """One platform with zone 1, through the API of the server at ``base``."""

    def __init__(self, base: str) -> None:
        self.base = base
        op = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        with httpx.Client(base_url=base, headers=op, timeout=30) as client:
            platform = _ok(client.post("/v1/admin/platforms", json={"name": "Cluster"}), 201)
            until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
            zone = f"/v1/admin/platforms/{platform['id']}/zones/1"
            _ok(client.put(zone, json={"valid_until": until}))
        self.platform_id: str = platform["id"]
        self.api = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {platform['api_token']}"}, timeout=30
        )

    def close(self) -> None:
        self.api.close()

    def webhook(self, name: str, url: str) -> str:
        hook = {"name": name, "url": url, "topics": [TOPIC]}
        webhook_id: str = _ok(self.api.post("/v1/webhooks", json=hook), 201)["id"]
        return webhook_id

    def publish(self, count: int, prefix: str) -> None:
        """``count`` events in batches of up to 1,000, each one accepted."""
        headers = {"Authorization": f"Bearer {INGEST_TOKEN}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=60) as ingest:
            for start in range(0, count, 1000):
                events = [
                    {
                        "platform_id": self.platform_id,
                        "topic": TOPIC,
                        "data": fake_data(TOPIC, random.Random(i)),
                        "id": f"{prefix}-{i}",
                    }
                    for i in range(start, min(count, start + 1000))
                ]
                answer = _ok(ingest.post("/internal/v1/events/batch", json={"events": events}), 202)
                assert (answer["accepted"], answer["rejected"]) == (len(events), 0), answer

    def deliveries(self, webhook_id: str) -> list[dict[str, Any]]:
        """Every delivery of the webhook, whatever its state."""
        found: list[dict[str, Any]] = []
        for state in STATES:
            cursor: str | None = None
            while True:
                params: dict[str, str | int] = {"state": state, "limit": 200}
                if cursor:
                    params["cursor"] = cursor
                page = _ok(self.api.get(f"/v1/webhooks/{webhook_id}/deliveries", params=params))
                found.extend(page["data"])
                cursor = page["next_cursor"]
                if not cursor:
                    break
        return found

    def states(self, webhook_id: str) -> Counter[str]:
        return Counter(d["state"] for d in self.deliveries(webhook_id))
