"""A loopback receiver for bursts: counts every request by idempotency key, fast.

An aiohttp server in its own thread and loop. It can hold requests open (never
answer them until released): every request to a ``hang_paths`` path, and, with
``hold_after``, every request once that many distinct deliveries were seen, so a test
knows a worker has requests in flight. Tests wait on its condition with a deadline.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import web


async def listen_on_loopback(app: web.Application) -> tuple[web.AppRunner, int]:
    """``app`` served on 127.0.0.1 at a free port: its runner (to clean up) and the port."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server) and server.sockets
    return runner, int(server.sockets[0].getsockname()[1])


@dataclass
class Hit:
    key: str
    signature: str
    body: bytes
    path: str = "/hook"
    at: float = 0.0  # time.time() on arrival: comparable with the body's timestamp


@dataclass
class CountingReceiver:
    """Records every request; ``counts`` holds the answered paths' keys only."""

    hold_after: int | None = None
    hang_paths: frozenset[str] = frozenset()
    delay: float = 0.0  # seconds before answering: a worker killed mid-burst has sends open
    port: int = 0
    hits: list[Hit] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    held_keys: set[str] = field(default_factory=set)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _open: bool = False  # True once released: nothing is held any more
    _loop: asyncio.AbstractEventLoop | None = None
    _gate: asyncio.Event | None = None
    _stop: asyncio.Event | None = None
    _thread: threading.Thread | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _holds(self, path: str) -> bool:
        if self._open:
            return False
        if path in self.hang_paths:
            return True
        return self.hold_after is not None and len(self.counts) >= self.hold_after

    async def _handle(self, request: web.Request) -> web.Response:
        at = time.time()
        body = await request.read()
        key = request.headers.get("CrescLab-Idempotency-Key", "")
        hit = Hit(key, request.headers.get("CrescLab-Signature", ""), body, request.path, at)
        with self._cond:
            hold = self._holds(request.path)
            self.hits.append(hit)
            if request.path not in self.hang_paths:
                self.counts[key] += 1
            if hold:
                self.held_keys.add(key)
            self._cond.notify_all()
        if hold:
            assert self._gate is not None
            await self._gate.wait()
        elif self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(text="OK")

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._gate = asyncio.Event()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        runner, self.port = await listen_on_loopback(app)
        ready.set()
        await self._stop.wait()
        self._gate.set()
        await runner.cleanup()

    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(ready),), name="receiver", daemon=True
        )
        self._thread.start()
        if not ready.wait(60):
            raise RuntimeError("the receiver did not start")

    @contextmanager
    def running(self) -> Iterator[CountingReceiver]:
        """Started for the ``with`` block, stopped after it whatever happens."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def release(self) -> None:
        """Answer the held requests and every later one at once."""
        with self._cond:
            self._open = True
        assert self._loop is not None and self._gate is not None
        self._loop.call_soon_threadsafe(self._gate.set)

    def wait_for(self, predicate: Callable[[CountingReceiver], bool], timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def snapshot(self) -> tuple[list[Hit], Counter[str], set[str]]:
        with self._cond:
            return list(self.hits), Counter(self.counts), set(self.held_keys)

    def seen(self) -> int:
        """Distinct deliveries answered (or held) so far, on the answered paths."""
        with self._cond:
            return len(self.counts)
