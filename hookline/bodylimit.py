"""Request body limits enforced while the body is read, before anything else sees it.

A ``Content-Length`` check alone is not a limit: a chunked body has no length, and was
read whole by the route (300 MB grew the server by 840 MB before its 401). This layer
sits outside every route and every authentication step. It refuses a declared length
over the limit at once; otherwise it reads the body itself, counting the bytes of each
``http.request`` message, and answers ``413`` the moment the count passes the limit,
without reading one message more. A body within the limit is handed on unchanged, so at
most ``limit`` bytes (plus one message) are ever held for a request.

The answer closes the connection: the rest of an oversized body is never read, so the
connection cannot carry another request.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_TYPE = "urn:hookline:problem:payload_too_large"


def too_large_body(limit: int) -> bytes:
    """The API's problem+json for an oversized body, as ``hookline.api.errors`` words it."""
    problem = {
        "type": PROBLEM_TYPE,
        "title": "Payload too large",
        "status": 413,
        "detail": f"The request body must be at most {limit} bytes.",
        "code": "payload_too_large",
    }
    return json.dumps(problem, ensure_ascii=False, separators=(",", ":")).encode()


def _declared_length(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            return bytes(value).decode("latin-1").strip()
    return None


class BodyLimit:
    """Pure ASGI middleware: ``limit_for(path)`` bytes of request body at most."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length = _declared_length(scope)
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _refuse(send, limit)
            return
        messages = await _read_within(receive, limit)
        if messages is None:
            await _refuse(send, limit)
            return
        await self.app(scope, _replay(messages, receive), send)


async def _read_within(receive: Receive, limit: int) -> list[Message] | None:
    """The request's messages up to the end of its body, or None once it passes ``limit``.

    A disconnect (or any message that is not body) ends the reading early; it is replayed
    to the app like the rest, which then sees what it would have seen without this layer.
    """
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if size > limit:
            return None
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """Hand the read messages out again in order, then go back to the real channel."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


async def _refuse(send: Send, limit: int) -> None:
    body = too_large_body(limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
