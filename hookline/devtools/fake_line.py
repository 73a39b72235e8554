"""A fake LINE Messaging API on loopback, for tests and the demo.

It speaks what LINE documents for ``POST /v2/bot/message/push``: the channel token
in ``Authorization: Bearer``, ``X-Line-Retry-Key`` (a key seen before answers 409,
as LINE does), message objects checked against LINE's shapes, and LINE's error body
``{message, details: [{message, property}]}``. Tests can make the next push fail or
hang, and can "open" a recorded push the way a LINE client does: by fetching every
image URL in it. It is written from LINE's documentation, not from hookline's code,
so it checks hookline rather than agreeing with it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2b1"
    "7e2b0000000049454e44ae426082"
)
"""A 1x1 PNG: what the fake's ``/img/<name>`` serves as a template's image."""

TYPES_NEEDING = {
    "text": ("text",),
    "image": ("originalContentUrl", "previewImageUrl"),
    "imagemap": ("baseUrl", "altText", "baseSize", "actions"),
    "flex": ("altText", "contents"),
}


@dataclass
class RecordedPush:
    to: str
    messages: list[Any]
    retry_key: str | None


def _detail(message: str, prop: str) -> dict[str, str]:
    return {"message": message, "property": prop}


def message_problems(messages: Any, require_https: bool) -> list[dict[str, str]]:
    """LINE's 400 details for these messages (empty: LINE would accept them)."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
        return [_detail("Size must be between 1 and 5", "messages")]
    found: list[dict[str, str]] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        kind = message.get("type") if isinstance(message, dict) else None
        if kind not in TYPES_NEEDING:
            found.append(_detail("Invalid message type", f"{where}.type"))
            continue
        for key in TYPES_NEEDING[kind]:
            if message.get(key) in (None, ""):
                found.append(_detail("must be specified", f"{where}.{key}"))
        found.extend(_url_problems(message, where, require_https))
    return found


def _url_problems(node: Any, where: str, require_https: bool) -> list[dict[str, str]]:
    found = []
    for key, value in image_urls_of(node, where):
        scheme = ("https://",) if require_https else ("https://", "http://")
        if not value.startswith(scheme) or len(value) > 2000:
            found.append(_detail("Invalid URL", key))
    return found


def image_urls_of(node: Any, where: str = "", top: bool = True) -> Iterator[tuple[str, str]]:
    """(property, URL) of every image a LINE client would fetch to show ``node``."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from image_urls_of(item, f"{where}[{i}]", top)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if top and kind == "image":
        for key in ("previewImageUrl", "originalContentUrl"):
            if isinstance(node.get(key), str):
                yield f"{where}.{key}", node[key]
    elif top and kind == "imagemap" and isinstance(node.get("baseUrl"), str):
        yield f"{where}.baseUrl", node["baseUrl"].rstrip("/") + "/1040"
    elif kind == "image" and isinstance(node.get("url"), str):
        yield f"{where}.url", node["url"]
    for key, value in node.items():
        if isinstance(value, dict | list):
            yield from image_urls_of(value, f"{where}.{key}", top=False)


@dataclass
class FakeLine:
    """LINE on 127.0.0.1 in its own thread and loop; ``base_url`` is its address."""

    channel_token: str = "fake-line-channel-token"  # noqa: S105 (a fake)
    require_https: bool = False
    port: int = 0
    pushes: list[RecordedPush] = field(default_factory=list)
    fetches: list[tuple[str, int]] = field(default_factory=list)
    image_hits: int = 0
    _answers: list[tuple[int, dict[str, Any]] | None] = field(default_factory=list)
    _keys: set[str] = field(default_factory=set)
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer_next(self, status: int, body: dict[str, Any]) -> None:
        """The next push gets this answer (LINE's error body) instead of being checked."""
        with self._lock:
            self._answers.append((status, body))

    def hang_next(self) -> None:
        """The next push is never answered (the caller's timeout decides)."""
        with self._lock:
            self._answers.append(None)

    async def _push(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.channel_token}":
            return web.json_response(
                {
                    "message": "Authentication failed. Confirm that the access token in the"
                    " authorization header is valid."
                },
                status=401,
            )
        with self._lock:
            planned = self._answers.pop(0) if self._answers else ()
        if planned is None:
            await asyncio.sleep(3600)
        if planned:
            return web.json_response(planned[1], status=planned[0])
        return await self._accept(request)

    async def _accept(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"message": "The request body has 1 error(s)"}, status=400)
        key = request.headers.get("X-Line-Retry-Key")
        with self._lock:
            if key is not None and key in self._keys:
                return web.json_response(
                    {"message": "The retry key is already accepted"}, status=409
                )
        problems = message_problems(body.get("messages"), self.require_https)
        if not isinstance(body.get("to"), str):
            problems.append(_detail("must be specified", "to"))
        if problems:
            message = f"The request body has {len(problems)} error(s)"
            return web.json_response({"message": message, "details": problems}, status=400)
        with self._lock:
            if key is not None:
                self._keys.add(key)
            self.pushes.append(RecordedPush(body["to"], body["messages"], key))
        return web.json_response({"sentMessages": [{"id": "1", "quoteToken": "q"}]})

    def image_url(self, name: str = "banner.png") -> str:
        return f"{self.base_url}/img/{name}"

    async def _image(self, _request: web.Request) -> web.Response:
        with self._lock:
            self.image_hits += 1
        return web.Response(body=PNG, content_type="image/png")

    async def _list(self, _request: web.Request) -> web.Response:
        with self._lock:
            found = [
                {"index": i, "to": p.to, "messages": p.messages} for i, p in enumerate(self.pushes)
            ]
        return web.json_response(found)

    async def _open(self, request: web.Request) -> web.Response:
        """``POST /fake/pushes/{index}/open``: a LINE app opens that push (demo, by hand)."""
        index = request.match_info["index"]
        with self._lock:
            known = index.isdigit() and int(index) < len(self.pushes)
        if not known:
            return web.json_response({"message": "No such push"}, status=404)
        return web.json_response({"image_statuses": await self.open_push(int(index))})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v2/bot/message/push", self._push)
        app.router.add_get("/fake/pushes", self._list)
        app.router.add_post("/fake/pushes/{index}/open", self._open)
        app.router.add_get("/img/{name}", self._image)
        app.router.add_get("/img/{name}/{size}", self._image)
        return app

    async def open_push(self, index: int) -> list[int]:
        """Fetch every image of the index-th push, as its friend's LINE app would."""
        statuses = []
        async with aiohttp.ClientSession() as session:
            for _, url in image_urls_of(self.pushes[index].messages):
                async with session.get(url, allow_redirects=False) as response:
                    await response.read()
                    statuses.append(response.status)
                    self.fetches.append((url, response.status))
        return statuses

    def open(self, index: int, timeout: float = 10.0) -> list[int]:
        """``open_push`` from another thread (a test's), waiting for its answer."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self.open_push(index), self._loop)
        return future.result(timeout)

    async def serve(self, ready: threading.Event | None = None) -> None:
        runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server) and server.sockets
        self.port = int(server.sockets[0].getsockname()[1])
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if ready is not None:
            ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def start(self) -> FakeLine:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self.serve(ready)), name="fake-line", daemon=True
        )
        self._thread.start()
        if not ready.wait(60):
            raise RuntimeError("the fake LINE server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)
