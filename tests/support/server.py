"""``hookline serve`` as a real process: waiting for it, and the ``--demo`` server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.process import Process, cli_env, free_port, wait_until

# The demo configures itself: none of these may leak in from the caller's environment.
DEMO_UNSET = (
    "HOOKLINE_DATABASE_URL",
    "HOOKLINE_OPERATOR_TOKEN",
    "HOOKLINE_INGEST_TOKEN",
    "HOOKLINE_SECRET_KEY",
    "HOOKLINE_ALLOW_HTTP",
    "HOOKLINE_ALLOW_PRIVATE_NETWORKS",
    "HOOKLINE_LINE_API_BASE",
    "HOOKLINE_PUBLIC_URL",
)


def wait_healthy(server: Process, base: str, timeout: float = 60) -> None:
    """Poll ``base``/healthz until it answers 200, or fail with the server's output."""

    def healthy() -> bool:
        server.exited_early()
        try:
            return httpx.get(base + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(f"{base}/healthz", healthy, timeout)
    except AssertionError:
        pytest.fail(f"{server.name} did not become ready:\n{server.output}")


class DemoServer:
    """``hookline serve --demo`` on a free loopback port, the way ``make run`` starts it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = Process(
            "hookline serve",
            *("serve", "--demo", "--port", str(self.port)),
            env=cli_env(drop=DEMO_UNSET, HOOKLINE_DATA_DIR=str(data_dir)),
        )
        self.creds: dict[str, str] = {}

    @property
    def output(self) -> str:
        return self.process.output

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until /healthz answers, then read the demo's credentials file."""
        wait_healthy(self.process, self.base, timeout)
        self.creds = json.loads((self.data_dir / "demo-credentials.json").read_text("utf-8"))

    def stop(self) -> None:
        self.process.stop()

    def printed(self, label: str) -> str:
        match = re.search(rf"{label}:\s+(\S+)", self.output)
        assert match, f"'{label}' not printed:\n" + self.output
        return match.group(1)

    def printed_login(self, label: str) -> tuple[str, str]:
        """(email, password) of a dashboard login line such as 'Member login:  a@b  password: x'."""
        match = re.search(rf"{label}:\s+(\S+)\s+password:\s+(\S+)", self.output)
        assert match, f"'{label}' not printed:\n" + self.output
        return match.group(1), match.group(2)

    # -- the JSON API as the demo platform: to set up and to check, never to test ------

    def api(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.creds['api_token']}"}
        return httpx.Client(base_url=self.base, headers=headers, timeout=10)

    def webhooks(self) -> list[dict[str, Any]]:
        with self.api() as api:
            r = api.get("/v1/webhooks", params={"limit": 100})
            assert r.status_code == 200, r.text
            data: list[dict[str, Any]] = r.json()["data"]
            return data

    def create_webhook(self, name: str, url: str, topics: list[str]) -> str:
        with self.api() as api:
            r = api.post("/v1/webhooks", json={"name": name, "url": url, "topics": topics})
            assert r.status_code == 201, r.text
            webhook_id: str = r.json()["id"]
            return webhook_id

    def delete_all_webhooks(self) -> None:
        with self.api() as api:
            for webhook in self.webhooks():
                r = api.delete(f"/v1/webhooks/{webhook['id']}")
                assert r.status_code == 204, r.text


@contextmanager
def demo_server(data_dir: Path) -> Iterator[DemoServer]:
    """A started and ready demo server, stopped (killed if need be) on the way out."""
    server = DemoServer(data_dir)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
