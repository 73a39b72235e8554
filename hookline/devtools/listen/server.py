"""The ``hookline listen`` server: verify, answer, forward, report.

It is built to be tested as a library: :class:`Listener` holds the behaviour and hands
each finished request, as an :class:`Exchange`, to an ``on_request`` callback, so tests
collect exchanges in a list while the CLI prints them with :class:`ConsolePrinter`.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from rich.console import Console

from hookline.devtools.listen.console import ConsolePrinter
from hookline.devtools.listen.exchange import Exchange, Forwarded, OnRequest
from hookline.receiver import (
    DEFAULT_TOLERANCE,
    InvalidPayload,
    WebhookVerificationError,
    parse,
    standard_webhooks_key,
    verify,
)

# Headers that describe one connection, not the message: they are not passed on when
# forwarding, and aiohttp sets its own for the new connection.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "content-length",
        "host",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

# Enough to tell duplicates apart over a long debugging session without growing forever.
SEEN_KEYS_KEPT = 10_000
FORWARD_TIMEOUT = 10.0


class Listener:
    """Verifies, answers, optionally forwards, and reports each incoming webhook.

    Answers: ``200 OK`` for a genuine request (or, with ``forward_to``, whatever the
    engineer's app answered, so hookline's retries react to the real app); the
    receiver library's status (401 for a wrong signature, 400 for a missing or
    unreadable header) with a JSON error for a request that fails verification;
    ``500`` for a genuine request picked by ``fail_rate``, which is how retries are
    rehearsed. A simulated failure is not forwarded: the app "failed" before handling it.
    """

    def __init__(
        self,
        secret: str | Sequence[str],
        *,
        tolerance: float = DEFAULT_TOLERANCE,
        fail_rate: float = 0.0,
        forward_to: str | None = None,
        on_request: OnRequest | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] | None = None,
        forward_timeout: float = FORWARD_TIMEOUT,
    ) -> None:
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        # A secret that cannot verify anything is a setup mistake: say so at start-up
        # (InvalidSecret) instead of answering every request with an error.
        for one in [secret] if isinstance(secret, str) else secret:
            standard_webhooks_key(one)
        self.secret = secret
        self.tolerance = tolerance
        self.fail_rate = fail_rate
        self.forward_to = forward_to
        self.on_request: OnRequest = on_request or ConsolePrinter(Console())
        # Not a secret-grade choice: which requests fail only has to look random.
        self._rng = rng or random.Random()  # noqa: S311
        self._clock = clock or (lambda: datetime.now().astimezone())
        self._forward_timeout = forward_timeout
        self._seen: OrderedDict[str, tuple[datetime, int]] = OrderedDict()
        self._session: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        """The aiohttp application: POST to any path is a webhook; GET says what this is."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        app.router.add_get("/{tail:.*}", self._about)
        app.cleanup_ctx.append(self._client_session)
        return app

    @asynccontextmanager
    async def running(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve until the block ends; yields the base URL (``port=0``: a free port)."""
        runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            yield base_url(host, int(runner.addresses[0][1]))
        finally:
            await runner.cleanup()

    async def _client_session(self, _app: web.Application) -> AsyncIterator[None]:
        if self.forward_to is None:
            yield
            return
        # auto_decompress: the app's answer is relayed without its Content-Encoding.
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._forward_timeout)
        )
        try:
            yield
        finally:
            await self._session.close()
            self._session = None

    async def _about(self, _request: web.Request) -> web.Response:
        return web.Response(text="hookline listen: POST webhooks to any path of this server.\n")

    async def handle(self, request: web.Request) -> web.Response:
        """One webhook: verify, then answer (and forward) only what is genuine.

        Unverified requests are reported but never forwarded or remembered as seen: a
        forged idempotency key must not make a later genuine request look duplicate.
        """
        body = await request.read()
        headers: CIMultiDictProxy[str] = request.headers
        received = Exchange(
            received_at=self._clock(),
            method=request.method,
            path=request.path_qs,
            headers=CIMultiDict(headers),
            body=body,
            status=0,
        )
        try:
            checked = verify(body, headers, self.secret, tolerance=self.tolerance)
        except WebhookVerificationError as exc:
            self.on_request(
                replace(received, status=exc.http_status, failure=str(exc), failure_code=exc.code)
            )
            return web.json_response(exc.to_dict(), status=exc.http_status)

        key = checked.idempotency_key
        first = self._seen.get(key) if key else None
        response, simulated, forwarded = await self._answer(headers, body)
        if key and first is None:
            self._remember(key, received.received_at, response.status)
        self.on_request(
            replace(
                received,
                status=response.status,
                duplicate_of=first[0] if first else None,
                duplicate_status=first[1] if first else None,
                verified_by=checked.schemes,
                payload_problem=_payload_problem(body, headers),
                simulated_failure=simulated,
                forwarded=forwarded,
            )
        )
        return response

    async def _answer(
        self, headers: Mapping[str, str], body: bytes
    ) -> tuple[web.Response, bool, Forwarded | None]:
        """The answer to a genuine request: ``(response, simulated failure?, forward)``."""
        if self._rng.random() < self.fail_rate:
            failure = {
                "error": "simulated_failure",
                "message": "hookline listen --fail-rate answered 500 on purpose",
            }
            return web.json_response(failure, status=500), True, None
        if self.forward_to is None:
            return web.Response(text="OK"), False, None
        forwarded = await self._forward(headers, body)
        return _relay(forwarded), False, forwarded

    def _remember(self, key: str, received_at: datetime, status: int) -> None:
        self._seen[key] = (received_at, status)
        while len(self._seen) > SEEN_KEYS_KEPT:
            self._seen.popitem(last=False)

    async def _forward(self, headers: Mapping[str, str], body: bytes) -> Forwarded:
        """Send the same body and headers to the engineer's app, without redirects.

        Redirects are not followed because hookline does not follow them either: an app
        that answers 3xx would fail in production too, and should fail here.
        """
        assert self._session is not None and self.forward_to is not None
        copied = CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in HOP_BY_HOP)
        started = time.monotonic()
        try:
            async with self._session.post(
                self.forward_to, data=body, headers=copied, allow_redirects=False
            ) as answer:
                content = await answer.read()
                return Forwarded(
                    url=self.forward_to,
                    status=answer.status,
                    latency_ms=_elapsed_ms(started),
                    body=content,
                    content_type=answer.headers.get("Content-Type"),
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            return Forwarded(
                url=self.forward_to, status=None, latency_ms=_elapsed_ms(started), error=reason
            )


def _payload_problem(body: bytes, headers: Mapping[str, str]) -> str | None:
    """Why a genuine body would fail a receiver's ``parse``; ``None`` when it parses."""
    try:
        parse(body, headers)
    except InvalidPayload as exc:
        return str(exc)
    return None


def _relay(forwarded: Forwarded) -> web.Response:
    """hookline gets what the app answered; 502 (retried by hookline) when it got nothing."""
    if forwarded.status is None:
        return web.json_response(
            {"error": "forward_failed", "message": f"{forwarded.url}: {forwarded.error}"},
            status=502,
        )
    response = web.Response(status=forwarded.status, body=forwarded.body)
    if forwarded.content_type:
        response.headers["Content-Type"] = forwarded.content_type
    return response


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def describe(listener: Listener, url: str) -> str:
    """The start-up banner: where to send, and what the listener will do."""
    secrets = [listener.secret] if isinstance(listener.secret, str) else list(listener.secret)
    shown = ", ".join(f"…{s[-4:]}" for s in secrets)
    lines = [
        f"[bold]hookline listen[/bold] on {url}/ (POST to any path)",
        f"verifying with the secret{'s' if len(secrets) > 1 else ''} ending {shown};"
        f" tolerance {listener.tolerance:g} s",
        f"forwarding verified requests to {listener.forward_to}"
        if listener.forward_to
        else "not forwarding (--forward-to URL sends verified requests on to your app)",
    ]
    if listener.fail_rate:
        lines.append(f"answering {listener.fail_rate:.0%} of verified requests with 500")
    lines.append("[dim]Ctrl-C stops.[/dim]")
    return "\n".join(lines)


def serve_forever(listener: Listener, *, host: str, port: int, console: Console) -> None:
    """Run until SIGINT/SIGTERM; the banner is printed only once the port is bound."""
    web.run_app(
        listener.app(),
        host=host,
        port=port,
        access_log=None,
        print=lambda _message: console.print(describe(listener, base_url(host, port))),
        shutdown_timeout=1.0,
    )
