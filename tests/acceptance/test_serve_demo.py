"""`hookline serve --demo` as a real process: the README's first command, then curl's flow."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hookline.domain.secrets import SecretBox
from hookline.services import users
from hookline.services.context import Context
from hookline.store import create_database
from tests.support.server import DemoServer, demo_server


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def server(data_dir: Path) -> Iterator[DemoServer]:
    with demo_server(data_dir) as s:
        yield s


def test_demo_prints_credentials_and_the_curl_flow_works(
    server: DemoServer, data_dir: Path
) -> None:
    token = server.printed("API token")
    operator = server.printed("Operator token")
    platform_id = server.printed("Platform id")
    assert token.startswith("hlp_") and operator.startswith("hlo_")
    h = {"Authorization": f"Bearer {token}"}
    api = httpx.Client(base_url=server.base, headers=h, timeout=10)

    me = api.get("/v1/platform").json()
    assert me["id"] == platform_id
    assert [z["valid"] for z in me["zones"]] == [True, True, True]

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
    assert f"Dashboard:       {server.base}/" in server.output
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
    log = server.output
    assert old not in log and new not in log
    assert (data_dir / "hookline.db").exists()


def test_the_box_names_the_worker_processes_serve_started(server: DemoServer) -> None:
    """`make run` delivers with one worker process per core, and says which they are."""
    match = re.search(r"Delivery:\s+(\d+) worker process(?:es)? \(pids ([\d, ]+)\)", server.output)
    assert match, server.output
    pids = [int(p) for p in match.group(2).split(", ")]
    assert int(match.group(1)) == len(pids) == (os.cpu_count() or 1)
    for pid in pids:  # each a live `hookline worker` child of the server
        assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[-3:-1] == [
            b"hookline",
            b"worker",
        ]
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        assert ppid == server.process.proc.pid


def test_a_second_start_reuses_the_demo(data_dir: Path) -> None:
    with demo_server(data_dir) as first:
        token = first.printed("API token")
        logins = first.printed_login("Member login"), first.printed_login("Operator login")
    with demo_server(data_dir) as second:
        assert second.printed("API token") == token
        assert second.printed_login("Member login") == logins[0]
        assert second.printed_login("Operator login") == logins[1]
        r = httpx.get(
            f"{second.base}/v1/platform", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert r.status_code == 200
