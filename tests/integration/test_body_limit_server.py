"""Body limits on a real uvicorn server, against a raw socket streaming a chunked body.

What is measured is what the application pulled from the server (every ``http.request``
message is counted by a layer around the app), not the process's memory: an oversized
body must be refused after at most the limit plus the one message that passed it,
without credentials, and long before the client has sent it all.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookline.app import BATCH_PATH, INGEST_PATH, MAX_BODY_BYTES, body_limit, create_app
from hookline.config import Settings
from hookline.services.context import Context
from tests.integration.conftest import OP, OPERATOR_TOKEN
from tests.support.process import wait_until

CHUNK = 64 * 1024
HUGE = 300 * 1024 * 1024
JSON_OP = {**OP, "Content-Type": "application/json"}


@dataclass
class Pulled:
    """Body bytes the app took from the server, per request, and its biggest message."""

    total: int = 0
    largest: int = 0


@dataclass
class Counting:
    app: ASGIApp
    requests: list[Pulled] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        pulled = Pulled()
        self.requests.append(pulled)

        async def counted() -> Message:
            message = await receive()
            size = len(message.get("body", b""))
            pulled.total += size
            pulled.largest = max(pulled.largest, size)
            return message

        await self.app(scope, counted, send)


@dataclass(frozen=True)
class Served:
    port: int
    counting: Counting


@pytest.fixture
def served(ctx: Context) -> Iterator[Served]:
    settings = Settings(operator_token=SecretStr(OPERATOR_TOKEN))
    counting = Counting(create_app(settings, ctx))
    config = uvicorn.Config(counting, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    wait_until("uvicorn to start", lambda: server.started or not thread.is_alive(), 30, 0.02)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(port, counting)
    finally:
        server.should_exit = True
        thread.join(30)


@dataclass(frozen=True)
class Upload:
    response: bytes
    sent: int

    @property
    def status(self) -> int:
        return int(self.response.split(b" ", 2)[1])

    @property
    def json(self) -> dict[str, object]:
        body: dict[str, object] = json.loads(self.response.split(b"\r\n\r\n", 1)[1])
        return body


def upload(port: int, head: bytes, total: int) -> Upload:
    """Send ``head``, then chunked body up to ``total`` bytes or until the server answers."""
    response = bytearray()
    answered = threading.Event()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:

        def read() -> None:
            try:
                while data := sock.recv(65536):
                    response.extend(data)
                    answered.set()
            except OSError:
                pass  # reset after the answer: the rest of the body was refused
            finally:
                answered.set()

        reader = threading.Thread(target=read, name="reader")
        reader.start()
        sock.sendall(head)
        frame = b"%x\r\n" % CHUNK + b"x" * CHUNK + b"\r\n"
        sent = 0
        try:
            while sent < total and not answered.is_set():
                sock.sendall(frame)
                sent += CHUNK
        except OSError:
            pass  # the server closed the connection: no more is read
        reader.join(30)
        assert not reader.is_alive(), "the server kept the connection open"
    return Upload(bytes(response), sent)


def chunked_head(path: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("path", ["/v1/webhooks", INGEST_PATH, BATCH_PATH, "/no/such/route"])
def test_a_huge_chunked_body_without_credentials_is_refused_while_read(
    served: Served, path: str
) -> None:
    limit = body_limit(path)
    result = upload(served.port, chunked_head(path), HUGE)

    assert result.status == 413, result.response[:300]
    assert b"content-type: application/problem+json" in result.response.lower()
    assert result.json["code"] == "payload_too_large"
    assert result.json["detail"] == f"The request body must be at most {limit} bytes."
    (pulled,) = served.counting.requests
    assert limit < pulled.total <= limit + pulled.largest  # stopped at the first message past
    assert result.sent < HUGE // 4


def test_a_declared_length_over_the_limit_is_refused_before_the_body(served: Served) -> None:
    head = (
        f"POST /v1/webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {HUGE}\r\n\r\n"
    ).encode()
    result = upload(served.port, head, 0)

    assert result.status == 413
    assert result.json["detail"] == f"The request body must be at most {MAX_BODY_BYTES} bytes."
    assert [p.total for p in served.counting.requests] == [0]


def test_a_chunked_body_within_the_limit_still_works(served: Served) -> None:
    name = "Coffee " + "x" * 150

    def pieces() -> Iterator[bytes]:  # an iterator: httpx sends it chunked
        body = json.dumps({"name": name}).encode()
        for i in range(0, len(body), 16):
            yield body[i : i + 16]

    base = f"http://127.0.0.1:{served.port}"
    r = httpx.post(base + "/v1/admin/platforms", content=pieces(), headers=JSON_OP, timeout=30)

    assert r.status_code == 201, r.text
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert r.json()["name"] == name
    assert served.counting.requests[0].total == len(json.dumps({"name": name}))
