"""GET of SurveyCake's query API, behind the same SSRF guard as webhook deliveries.

A survey's ``base_url`` is chosen by a customer and fetched by this server, so it is
judged like a webhook URL at fetch time: literal addresses first, every resolved
address through the sender's guarded resolver, no redirects, no proxy from the
environment, a total timeout, and at most ``MAX_ANSWER_BYTES`` read.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp
from yarl import URL

from hookline.dispatch.failures import classify
from hookline.dispatch.sender import guarded_session, guarded_url
from hookline.domain.deliveries import ErrorClass
from hookline.domain.networks import IPNetwork
from hookline.domain.surveycake import Fetched
from hookline.domain.wire import USER_AGENT

MAX_ANSWER_BYTES = 1024 * 1024
_NOT_RETRIED = (ErrorClass.BLOCKED_ADDRESS, ErrorClass.TLS_ERROR)


class SurveyCakeFetcher:
    """One shared session; ``fetch(url)`` never raises (except on cancellation)."""

    def __init__(
        self,
        *,
        allowed_networks: Sequence[IPNetwork] = (),
        connect_timeout: float = 5.0,
        total_timeout: float = 15.0,
    ) -> None:
        self._allowed = tuple(allowed_networks)
        self._total = total_timeout
        self._timeout = aiohttp.ClientTimeout(total=total_timeout, sock_connect=connect_timeout)
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = guarded_session(self._allowed, self._timeout)
        return self._session

    def _check(self, raw_url: str) -> URL:
        return guarded_url(
            raw_url, self._allowed, refusal="only http and https URLs with a host are fetched"
        )

    async def __call__(self, raw_url: str) -> Fetched:
        try:
            return await self._fetch(raw_url)
        except Exception as exc:
            where = _where(raw_url)
            error, detail = classify(exc, where, self._total, tls=raw_url.startswith("https"))
            return Fetched(None, error=detail, retryable=error not in _NOT_RETRIED)

    async def _fetch(self, raw_url: str) -> Fetched:
        url = self._check(raw_url)
        headers = {"User-Agent": USER_AGENT, "Accept": "text/plain"}
        async with self._get_session().get(url, headers=headers, allow_redirects=False) as answer:
            body = await _read_limited(answer.content)
            status = answer.status
        if len(body) > MAX_ANSWER_BYTES:
            return Fetched(status, error=f"the answer is over {MAX_ANSWER_BYTES} bytes")
        retryable = status >= 500 or status == 429
        return Fetched(status, body, retryable=retryable)

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


async def _read_limited(stream: aiohttp.StreamReader) -> bytes:
    """Up to one byte past the limit: enough to know the answer is too big."""
    data = bytearray()
    while len(data) <= MAX_ANSWER_BYTES:
        chunk = await stream.read(MAX_ANSWER_BYTES + 1 - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def _where(raw_url: str) -> str:
    """``host:port`` only: the path holds the answer's hash."""
    try:
        url = URL(raw_url)
        return f"{url.host}:{url.port}"
    except (ValueError, TypeError):
        return "the query API"
