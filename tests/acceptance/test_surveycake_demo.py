"""From `make run` to a verified form.surveycake_submitted, with real processes.

``hookline serve --demo`` (and its ``hookline worker`` children, where the SurveyCake
job runs), ``hookline simulate surveycake`` (a fake SurveyCake on loopback that
notifies the intake URL) and a loopback receiver that verifies with
``hookline.receiver``: the issue's "done when", as a marketer would run it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hookline.receiver import SurveyCakeSubmittedEvent, verify_and_parse
from tests.support.process import cli_env
from tests.support.receiver import Receiver
from tests.support.server import DemoServer, demo_server

TOPIC = "form.surveycake_submitted"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DemoServer]:
    with demo_server(tmp_path / "var") as s:
        yield s


def simulate(server: DemoServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hookline", "simulate", "surveycake", "--url", server.base, *args],
        env=cli_env(HOOKLINE_API_TOKEN=server.creds["api_token"]),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_demo_survey_ends_verified_at_the_receiver(
    server: DemoServer, receiver: Receiver
) -> None:
    hook = server.create_webhook("SurveyCake", receiver.url(), [TOPIC])
    with server.api() as api:
        secret = api.get(f"/v1/webhooks/{hook}/secret").json()["secret"]
    done = simulate(server)
    assert done.returncode == 0, done.stdout + done.stderr + server.output
    assert "published" in done.stdout and "note" not in done.stderr
    receiver.wait_for(lambda r: len(r.received()) >= 1, timeout=30)
    (request,) = receiver.received()
    event = verify_and_parse(request.body, request.headers, secret)
    assert isinstance(event, SurveyCakeSubmittedEvent)
    assert event.data.line_uid == "U8934fa6cfd94060d8efeb32867d9715d"
    alias = json.loads(request.body)["data"]["answer"]["alias"]
    assert alias["maac_member_gender"] == ["male"] and alias["通路"] == ["familymart", "other"]
    # again: a fresh survey, the same demo; each answer is its own event
    again = simulate(server, "--count", "2")
    assert again.returncode == 0, again.stdout + again.stderr
    receiver.wait_for(lambda r: len(r.received()) >= 3, timeout=30)


def test_an_answer_without_a_line_friend_sends_nothing(
    server: DemoServer, receiver: Receiver
) -> None:
    server.create_webhook("SurveyCake", receiver.url(), [TOPIC])
    done = simulate(server, "--line-uid", "")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not_linked" in done.stdout and "Not linked to a LINE friend" in done.stdout
    with server.api() as api:
        seen = api.get("/v1/surveycake/notifications", params={"state": "not_linked"}).json()
    assert len(seen["data"]) == 1 and receiver.received() == []
