"""The test session resolves no outside name (tests/support/offline_dns.py).

The API's example URL ``https://crm.example.com/hooks/maac`` is what the schema fuzzer
sends, and a test send to it once asked the real resolver: every path by which a test
could look a name up must be answered here, at once, the same way each time.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from aiohttp.resolver import ThreadedResolver
from fastapi.testclient import TestClient

from tests.integration.conftest import PlatformHandle, webhook_body
from tests.support.offline_dns import REFUSAL
from tests.support.process import cli_env

OUTSIDE = "crm.example.com"


def test_an_outside_name_is_refused_without_asking_dns() -> None:
    with pytest.raises(socket.gaierror) as refused:
        socket.getaddrinfo(OUTSIDE, 443)

    assert refused.value.errno == socket.EAI_NONAME
    assert REFUSAL in str(refused.value)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", socket.gethostname()])
def test_local_names_and_addresses_still_resolve(host: str) -> None:
    assert socket.getaddrinfo(host, 80, type=socket.SOCK_STREAM)


async def test_aiohttps_threaded_resolver_goes_through_the_stub() -> None:
    """hookline's sender resolves with aiohttp's ThreadedResolver, on the event loop."""
    resolver = ThreadedResolver()
    with pytest.raises(OSError, match=REFUSAL):
        await resolver.resolve(OUTSIDE, 443)
    await resolver.close()


def test_a_test_send_to_an_outside_name_is_a_dns_error(
    client: TestClient, platform: PlatformHandle
) -> None:
    created = client.post("/v1/webhooks", json=webhook_body(), headers=platform.headers)
    assert created.status_code == 201, created.text

    sent = client.post(
        f"/v1/webhooks/{created.json()['id']}/test",
        json={"topic": "receipt.receipt_validated"},
        headers=platform.headers,
    )

    assert sent.status_code == 200, sent.text
    assert sent.json()["error"] == "dns_error"
    assert REFUSAL in sent.json()["error_detail"]


CHILD = f"""
import socket
try:
    socket.getaddrinfo({OUTSIDE!r}, 443)
except socket.gaierror as exc:
    print("refused:", exc)
else:
    print("resolved")
print("localhost:", bool(socket.getaddrinfo("localhost", 80)))
"""


@pytest.mark.parametrize("env", ["cli_env", "without HOOKLINE_ variables"])
def test_a_python_process_a_test_starts_resolves_no_outside_name(env: str) -> None:
    """``hookline serve`` and ``hookline worker`` children run this interpreter: they
    inherit the stub through ``PYTHONPATH`` (tests/support/offline_site), whichever way
    the test built their environment."""
    child_env = cli_env()
    if env != "cli_env":  # as tests/support/fleet.py and shared_db.py build it
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=child_env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert f"refused: [Errno {socket.EAI_NONAME}]" in done.stdout
    assert REFUSAL in done.stdout
    assert "localhost: True" in done.stdout
