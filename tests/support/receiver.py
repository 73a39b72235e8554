"""A real HTTP receiver on loopback, in its own thread, that records what it gets.

It serves sync tests (the API's TestClient) and async ones alike. Waiting is done on
a condition with a deadline, never by sleeping.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: str = "OK"
    headers: tuple[tuple[str, str], ...] = ()


Policy = Callable[[Received], Answer]


def answering(status: int) -> Policy:
    """A policy that answers every request with ``status``."""
    return lambda _received: Answer(status=status)


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.policy: Policy = lambda _r: Answer()
        self.hold_paths: set[str] = set()
        self.held = 0
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None
        self.port = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        received = Received(request.path, dict(request.headers), await request.read())
        if request.path in self.hold_paths:
            with self._cond:
                self.held += 1
                self._cond.notify_all()
            assert self._release is not None
            await self._release.wait()
        with self._cond:
            self.requests.append(received)
            self._cond.notify_all()
        answer = self.policy(received)
        return web.Response(status=answer.status, text=answer.body, headers=dict(answer.headers))

    def received(self, path: str | None = None) -> list[Received]:
        with self._cond:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout: float = 10.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(f"receiver: condition not met within {timeout} s")

    def release_held(self) -> None:
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)

    @contextmanager
    def running(self, port: int = 0) -> Iterator[Receiver]:
        """Serve on ``port`` of 127.0.0.1 (0: any free one) until the block ends."""
        ready = threading.Event()
        stop: list[asyncio.Event] = []

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._release = asyncio.Event()
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app, shutdown_timeout=0.1)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", port)
            await site.start()
            server = site._server
            assert isinstance(server, asyncio.Server)
            self.port = server.sockets[0].getsockname()[1]
            stop.append(asyncio.Event())
            ready.set()
            await stop[0].wait()
            self._release.set()
            await runner.cleanup()

        thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        thread.start()
        if not ready.wait(60):
            raise RuntimeError("the receiver did not start")
        try:
            yield self
        finally:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(stop[0].set)
            thread.join(10)
