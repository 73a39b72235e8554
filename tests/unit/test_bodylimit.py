"""The body limit as a pure ASGI layer: what it pulls from the channel, and what it answers.

The server-level proof (a real uvicorn, a raw chunked upload) is in
tests/integration/test_body_limit_server.py; here the channel is counted exactly.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from hookline.api.errors import problem
from hookline.bodylimit import BodyLimit, too_large_body

LIMIT = 1000


class Endless:
    """A client that sends body chunks for ever; counts what was pulled."""

    def __init__(self, chunk: int = 300) -> None:
        self.chunk = chunk
        self.pulled = 0
        self.messages = 0

    async def __call__(self) -> Message:
        self.pulled += self.chunk
        self.messages += 1
        return {"type": "http.request", "body": b"x" * self.chunk, "more_body": True}


class Given:
    """A client sending exactly these body pieces, then waiting (a disconnect)."""

    def __init__(self, *pieces: bytes) -> None:
        self.pending = [
            {"type": "http.request", "body": p, "more_body": i < len(pieces) - 1}
            for i, p in enumerate(pieces)
        ]

    async def __call__(self) -> Message:
        return self.pending.pop(0) if self.pending else {"type": "http.disconnect"}


class App:
    """Reads the whole body, the way a route does, and echoes its size."""

    def __init__(self) -> None:
        self.called = False
        self.body = b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.called = True
        while True:
            message = await receive()
            self.body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"%d" % len(self.body)})


def scope(path: str = "/v1/webhooks", **headers: str) -> Scope:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "method": "POST", "path": path, "headers": raw}


async def call(app: App, receive: Receive, sc: Scope) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await BodyLimit(app, lambda _path: LIMIT)(sc, receive, send)
    return sent


def answer(sent: list[Message]) -> tuple[int, dict[bytes, bytes], Any]:
    start, body = sent
    return start["status"], dict(start["headers"]), json.loads(body["body"])


async def test_an_endless_chunked_body_is_refused_at_the_first_message_past_the_limit() -> None:
    app, client = App(), Endless(chunk=300)
    sent = await call(app, client, scope())

    status, headers, body = answer(sent)
    assert status == 413 and not app.called
    assert client.messages == 4 and client.pulled == 1200  # 900 within, the 4th passes 1000
    assert headers[b"content-type"] == b"application/problem+json"
    assert headers[b"connection"] == b"close"
    assert body["code"] == "payload_too_large" and body["status"] == 413


async def test_a_declared_length_over_the_limit_is_refused_before_any_read() -> None:
    app, client = App(), Endless()
    for length in ("1001", "99999999999999999999", "-1", "12abc"):
        status, _, _ = answer(await call(app, client, scope(content_length=length)))
        assert status == 413
    assert client.pulled == 0 and not app.called


async def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    app = App()
    pieces = (b"a" * 400, b"b" * 400, b"c" * 200)  # exactly the limit, in three messages
    sent = await call(app, Given(*pieces), scope())

    assert sent[0]["status"] == 200 and app.body == b"".join(pieces)


async def test_the_limit_is_per_path() -> None:
    seen: list[str] = []

    def limit_for(path: str) -> int:
        seen.append(path)
        return 10 if path == "/small" else 10_000

    app = App()
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await BodyLimit(app, limit_for)(scope("/big"), Given(b"x" * 500), send)
    await BodyLimit(app, limit_for)(scope("/small"), Given(b"x" * 500), send)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [200, 413]
    assert seen == ["/big", "/small"]


async def test_non_http_scopes_pass_untouched() -> None:
    reached: list[str] = []

    async def app(sc: Scope, receive: Receive, send: Send) -> None:
        reached.append(sc["type"])

    async def nothing() -> Message:
        raise AssertionError("the layer must not read a lifespan channel")

    async def no_send(message: Message) -> None:
        raise AssertionError("nothing to send")

    await BodyLimit(app, lambda _p: 0)({"type": "lifespan"}, nothing, no_send)
    assert reached == ["lifespan"]


def test_the_answer_is_the_apis_own_problem() -> None:
    expected = problem(413, "payload_too_large", "The request body must be at most 65536 bytes.")
    assert too_large_body(65536) == expected.body
