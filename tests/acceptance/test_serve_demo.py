"""`hookline serve --demo` as a real process: the README's first command, then curl's flow."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hookline.domain.secrets import SecretBox
from hookline.services import users
from hookline.services.context import Context
from hookline.store import create_database


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "HOOKLINE_DATA_DIR": str(data_dir),
            "COLUMNS": "200",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("HOOKLINE_DATABASE_URL", "HOOKLINE_OPERATOR_TOKEN", "HOOKLINE_SECRET_KEY"):
            env.pop(name, None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hookline", "serve", "--demo", "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until /healthz answers (a condition, bounded in time), or fail with the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("server exited early:\n" + "".join(self.lines))
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail("server did not become ready:\n" + "".join(self.lines))

    def printed(self, label: str) -> str:
        match = re.search(rf"{label}:\s+(\S+)", "".join(self.lines))
        assert match, f"'{label}' not printed:\n" + "".join(self.lines)
        return match.group(1)

    def printed_login(self, label: str) -> tuple[str, str]:
        """(email, password) of a dashboard login line such as 'Member login:  a@b  password: x'."""
        match = re.search(rf"{label}:\s+(\S+)\s+password:\s+(\S+)", "".join(self.lines))
        assert match, f"'{label}' not printed:\n" + "".join(self.lines)
        return match.group(1), match.group(2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def server(data_dir: Path) -> Iterator[Server]:
    s = Server(data_dir)
    s.wait_ready()
    yield s
    s.stop()


def test_demo_prints_credentials_and_the_curl_flow_works(server: Server, data_dir: Path) -> None:
    token = server.printed("API token")
    operator = server.printed("Operator token")
    platform_id = server.printed("Platform id")
    assert token.startswith("hlp_") and operator.startswith("hlo_")
    h = {"Authorization": f"Bearer {token}"}
    api = httpx.Client(base_url=server.base, headers=h, timeout=10)

    me = api.get("/v1/platform").json()
    assert me["id"] == platform_id
    assert [z["valid"] for z in me["zones"]] == [True, True]

    body = {"name": "local", "url": "http://127.0.0.1:9000/hook", "topics": ["pnp.status_updated"]}
    ids = []
    for i in range(3):
        r = api.post("/v1/webhooks", json={**body, "name": f"local {i}"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    r = api.post("/v1/webhooks", json=body)
    assert r.status_code == 409 and r.json()["code"] == "webhook_limit_reached"
    assert len(api.get("/v1/webhooks").json()["data"]) == 3
    assert api.post(f"/v1/webhooks/{ids[0]}/stop").json()["status"] == "stopped"
    assert api.post(f"/v1/webhooks/{ids[0]}/resume").json()["status"] == "working"
    old = api.get(f"/v1/webhooks/{ids[0]}/secret").json()["secret"]
    new = api.post(f"/v1/webhooks/{ids[0]}/secret/rotate").json()["secret"]
    assert old != new and new.startswith("whsec_")
    assert api.delete(f"/v1/webhooks/{ids[0]}").status_code == 204
    assert api.get(f"/v1/webhooks/{ids[0]}").status_code == 404

    op = {"Authorization": f"Bearer {operator}"}
    r = httpx.put(
        f"{server.base}/v1/admin/platforms/{platform_id}/zones/2",
        json={"valid_until": "2020-01-01T00:00:00Z"},
        headers=op,
    )
    assert r.status_code == 200
    r = api.post("/v1/webhooks", json={**body, "topics": ["message.first_open"]})
    assert r.status_code == 403 and r.json()["code"] == "zone_expired"

    # the printed dashboard logins open sessions (checked on the server's own database)
    assert f"Dashboard:       {server.base}/" in "".join(server.lines)
    ctx = Context(db=create_database(f"sqlite:///{data_dir / 'hookline.db'}"), box=SecretBox("x"))
    try:
        email, password = server.printed_login("Member login")
        member = users.login(ctx, email, password).user
        assert (email, member.platform_id) == ("demo@hookline.local", platform_id)
        email, password = server.printed_login("Operator login")
        assert email == "operator@hookline.local"
        assert users.login(ctx, email, password).user.is_operator
    finally:
        ctx.db.dispose()

    # secrets never reach the server's output
    log = "".join(server.lines)
    assert old not in log and new not in log
    assert (data_dir / "hookline.db").exists()


def test_a_second_start_reuses_the_demo(data_dir: Path) -> None:
    first = Server(data_dir)
    first.wait_ready()
    token = first.printed("API token")
    logins = first.printed_login("Member login"), first.printed_login("Operator login")
    first.stop()
    second = Server(data_dir)
    second.wait_ready()
    try:
        assert second.printed("API token") == token
        assert second.printed_login("Member login") == logins[0]
        assert second.printed_login("Operator login") == logins[1]
        r = httpx.get(
            f"{second.base}/v1/platform", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert r.status_code == 200
    finally:
        second.stop()
