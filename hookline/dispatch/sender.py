"""One HTTP POST attempt of a webhook delivery, and an account of what came of it.

The sender neither signs, retries nor records anything; it makes one attempt and never
raises, whatever goes wrong. What it does take care of is where it connects:

* **Server-side request forgery is judged at send time.** A webhook URL is checked when
  it is created, but a host name can resolve to a different address at any moment
  (DNS rebinding), so the check that counts happens here. Every host name goes through
  ``_GuardedResolver``, the only resolver of the shared connector (whose DNS cache is
  off): if *any* address in the answer is blocked by
  :func:`hookline.domain.networks.is_blocked_address` the delivery is refused.
* **The connection goes to the address that was checked.** The resolver hands the
  checked addresses to the connector in numeric form, so nothing is looked up twice.
* **Address literals are checked before anything else**, because aiohttp skips the
  resolver for them. The host is read with :func:`parse_ip_literal`, which understands
  the odd spellings (``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``).
* ``localhost`` and ``*.localhost`` are loopback names (RFC 6761): they are answered with
  127.0.0.1 and ::1 without asking DNS, and refused unless loopback is allowed.
* **Redirects are never followed**: that would carry the signed body to a URL nobody
  checked. A 3xx is reported like any other non-2xx status.
* Whatever the guard refuses - a blocked address, a scheme other than http/https, a
  host that cannot be read - comes back as ``BLOCKED_ADDRESS`` with nothing sent.
* **A 2xx counts once its status line and headers have arrived**, as Stripe and Svix
  count it: a 2xx whose body breaks off or does not end within the total timeout is
  delivered (the receiver has said it took the event), with ``error_detail`` saying the
  body was cut. Any other status is kept with the attempt and judged as usual.
* Nothing raised during an attempt escapes :meth:`Sender.send`: unexpected exceptions
  are recorded as failures too (see :mod:`hookline.dispatch.failures`).
* No proxy settings from the environment (``HTTP_PROXY``...) and no cookies are used;
  an egress proxy is the operator's explicit setting (``dispatch.egress``). At most
  ``RESPONSE_BODY_LIMIT`` bytes of a response are read; a longer response's connection
  is closed rather than drained.
"""

from __future__ import annotations

import email.utils
import ipaddress
import socket
import ssl
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType

import aiohttp
from aiohttp import hdrs
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from multidict import CIMultiDict
from yarl import URL

from hookline.dispatch.egress import Pinned, pin
from hookline.dispatch.failures import BlockedAddressError, classify
from hookline.dispatch.send_by import DeadlineConnector, SendTooLate, deadline
from hookline.domain.deliveries import AttemptResult, ErrorClass, Outgoing
from hookline.domain.networks import IPAddress, IPNetwork, describe_address, is_blocked_address
from hookline.domain.response_headers import capture
from hookline.domain.urls import WebhookURLError, parse_ip_literal
from hookline.domain.wire import USER_AGENT

RESPONSE_BODY_LIMIT = 4096

_NUMERIC_FLAGS = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
_LOOPBACK_V4 = ipaddress.IPv4Address("127.0.0.1")
_LOOPBACK_V6 = ipaddress.IPv6Address("::1")


def _check_address(ip: IPAddress, allowed: Sequence[IPNetwork]) -> None:
    if is_blocked_address(ip, allowed):
        kind = describe_address(ip)
        article = "an" if kind[0] in "aeiou" else "a"
        raise BlockedAddressError(f"{ip} is {article} {kind} address")


def _check_literal(host: str, allowed: Sequence[IPNetwork]) -> None:
    """A host written as an address is judged now; a name, when it is resolved."""
    try:
        ip = parse_ip_literal(host)
    except WebhookURLError as exc:
        raise BlockedAddressError(exc.message) from exc
    if ip is not None:
        _check_address(ip, allowed)


def guarded_url(raw_url: str, allowed: Sequence[IPNetwork], *, refusal: str) -> URL:
    """An http(s) URL for hookline's other outbound GETs (LINE images, SurveyCake
    answers), judged as a delivery's is; ``refusal`` says why another URL is not."""
    try:
        url = URL(raw_url)
    except ValueError as exc:
        raise BlockedAddressError("the URL is malformed") from exc
    if url.scheme not in ("http", "https") or not url.raw_host:
        raise BlockedAddressError(refusal)
    _check_literal(url.raw_host, allowed)
    return url


def _is_loopback_name(host: str) -> bool:
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


class _GuardedResolver(AbstractResolver):
    """Resolves with ``inner`` and refuses the answer if any address in it is blocked."""

    def __init__(self, inner: AbstractResolver, allowed: Sequence[IPNetwork]) -> None:
        self._inner = inner
        self._allowed = tuple(allowed)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if _is_loopback_name(host):
            answers = [
                (fam, str(ip))
                for fam, ip in ((socket.AF_INET, _LOOPBACK_V4), (socket.AF_INET6, _LOOPBACK_V6))
                if family in (socket.AF_UNSPEC, fam)
            ]
        else:
            answers = [
                (socket.AddressFamily(r["family"]), r["host"])
                for r in await self._inner.resolve(host, port, family)
            ]
        results: list[ResolveResult] = []
        for fam, address in answers:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError as exc:
                raise BlockedAddressError(f"{host} resolved to an unreadable address") from exc
            _check_address(ip, self._allowed)
            results.append(
                ResolveResult(
                    hostname=host,
                    host=address,
                    port=port,
                    family=fam,
                    proto=0,
                    flags=_NUMERIC_FLAGS,
                )
            )
        if not results:  # an empty answer would otherwise fail inside aiohttp
            raise socket.gaierror(socket.EAI_NONAME, f"no address found for {host}")
        return results

    async def close(self) -> None:
        await self._inner.close()


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        try:
            return float(int(text))
        except OverflowError:
            return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def _read_limited(stream: aiohttp.StreamReader) -> tuple[bytes, bool, Exception | None]:
    """Read up to RESPONSE_BODY_LIMIT bytes: the bytes, whether the body ended within them,
    and what cut it short (a timeout, a dropped connection), if anything did."""
    data = bytearray()
    try:
        while len(data) < RESPONSE_BODY_LIMIT:
            chunk = await stream.read(RESPONSE_BODY_LIMIT - len(data))
            if not chunk:
                return bytes(data), True, None
            data += chunk
    except Exception as exc:  # the status has arrived: it must not be lost with the body
        return bytes(data), False, exc
    return bytes(data), stream.at_eof(), None


def _status_detail(
    where: str, status: int, cut: Exception | None, total_timeout: float
) -> str | None:
    """None for a clean 2xx; otherwise the status, and what cut the body if anything did."""
    ok = 200 <= status < 300
    if cut is None:
        return None if ok else f"{where} answered HTTP {status}"
    if isinstance(cut, TimeoutError):
        why = f"the response body did not end within {total_timeout:g}s"
    elif isinstance(cut, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        why = "the connection closed before the response body ended"
    else:
        why = f"reading the response body failed ({type(cut).__name__})"
    counted = "; the 2xx status counts: delivered" if ok else ""
    return f"{where} answered HTTP {status}, but {why}{counted}"


MAX_CACHED_URLS = 10_000


def guarded_session(
    allowed_networks: Sequence[IPNetwork], timeout: aiohttp.ClientTimeout
) -> aiohttp.ClientSession:
    """A session for hookline's other outbound requests (LINE images, SurveyCake answers):
    every name it resolves judged by the delivery SSRF guard, no proxy from the
    environment, no cookies kept. Make it inside the running loop that will use it."""
    resolver = _GuardedResolver(ThreadedResolver(), tuple(allowed_networks))
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(use_dns_cache=False, resolver=resolver),
        timeout=timeout,
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
    )


class Sender:
    """Sends delivery attempts over one shared, keep-alive connection pool."""

    def __init__(
        self,
        *,
        allowed_networks: Sequence[IPNetwork] = (),
        connect_timeout: float = 5.0,
        total_timeout: float = 15.0,
        max_connections: int = 1000,
        tls_context: ssl.SSLContext | None = None,
        proxy: str | None = None,
    ) -> None:
        """``tls_context`` replaces the system's trust store for https receivers (a private
        CA, or a test's); by default certificates and host names are checked against it.
        ``proxy``: every request goes through this HTTP proxy (``dispatch.egress``)."""
        self._allowed = tuple(allowed_networks)
        self._proxy = URL(proxy) if proxy else None
        self._guard: _GuardedResolver | None = None  # made with the session, in its loop
        self._total_timeout = total_timeout
        self._timeout = aiohttp.ClientTimeout(total=total_timeout, sock_connect=connect_timeout)
        self._max_connections = max_connections
        self._tls: ssl.SSLContext | bool = tls_context if tls_context is not None else True
        self._session: aiohttp.ClientSession | None = None
        self._targets: dict[str, URL | BlockedAddressError] = {}

    def _get_session(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop that will use it.
        if self._session is None:
            self._guard = _GuardedResolver(ThreadedResolver(), self._allowed)
            connector = DeadlineConnector(
                limit=self._max_connections,
                use_dns_cache=False,
                ssl=self._tls,
                # through a proxy the connector resolves only the proxy's own name; the
                # receiver's is resolved and judged by self._guard (dispatch.egress.pin)
                resolver=ThreadedResolver() if self._proxy else self._guard,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    def _target(self, raw_url: str) -> URL:
        """Parse the URL and refuse it if its scheme or literal address is not allowed."""
        try:
            url = URL(raw_url)
        except ValueError as exc:
            raise BlockedAddressError("the URL is malformed") from exc
        if url.scheme not in ("http", "https"):
            raise BlockedAddressError("only http and https URLs are delivered to")
        host = url.raw_host
        if not host:
            raise BlockedAddressError("the URL has no host")
        _check_literal(host, self._allowed)
        return url

    async def send(self, request: Outgoing) -> AttemptResult:
        """POST ``request`` once and report the outcome; never raises, whatever happens.

        Anything raised during the attempt, expected or not, becomes a recorded failure:
        an exception escaping here would leave the delivery in flight with no attempt,
        to be reclaimed and fail the same way for ever. Only cancellation goes through,
        and ``SendTooLate``: nothing was sent, past ``request.send_by``.
        """
        start = time.perf_counter()
        try:
            with deadline(request.send_by):
                return await self._send(request, start)
        except SendTooLate:
            raise  # not sent: the caller gives the lease back (dispatch.send_by)
        except Exception as exc:
            error, detail = classify(exc, _where_of(request.url), self._total_timeout)
            return _failure(start, error, detail)

    def _timeouts(self, request: Outgoing) -> tuple[float, aiohttp.ClientTimeout]:
        """The request's total limit and timeouts: the webhook's own, else the sender's."""
        if request.timeout_seconds is None:
            return self._total_timeout, self._timeout
        total = float(request.timeout_seconds)
        connect = min(self._timeout.sock_connect or total, total)
        return total, aiohttp.ClientTimeout(total=total, sock_connect=connect)

    async def _send(self, request: Outgoing, start: float) -> AttemptResult:
        target = self._targets.get(request.url)
        if target is None:  # a URL's verdict never changes: parse and check it once
            try:
                target = self._target(request.url)
            except BlockedAddressError as exc:
                target = exc
            if len(self._targets) >= MAX_CACHED_URLS:
                self._targets.clear()
            self._targets[request.url] = target
        if isinstance(target, BlockedAddressError):
            return _failure(start, ErrorClass.BLOCKED_ADDRESS, str(target))
        url = target
        where = _where_of(url)
        headers: CIMultiDict[str] = CIMultiDict(request.headers)
        if hdrs.USER_AGENT not in headers:
            headers[hdrs.USER_AGENT] = USER_AGENT
        total, timeout = self._timeouts(request)
        try:
            session = self._get_session()
            pinned = Pinned(url, None, None)
            if self._proxy is not None and self._guard is not None:
                pinned = await pin(url, self._guard)
                if pinned.host_header is not None:
                    headers[hdrs.HOST] = pinned.host_header
            async with session.post(
                pinned.url,
                data=request.body,
                headers=headers,
                allow_redirects=False,
                skip_auto_headers=(hdrs.CONTENT_TYPE,),
                timeout=timeout,
                proxy=self._proxy,
                server_hostname=pinned.server_hostname,
            ) as response:
                status = response.status
                answered = capture(response.headers.items())
                retry_after = parse_retry_after(response.headers.get(hdrs.RETRY_AFTER))
                body, complete, cut = await _read_limited(response.content)
                if not complete:
                    response.close()  # do not drain a huge or stalled body; drop the connection
        except SendTooLate:
            raise
        except Exception as exc:
            tls = url.scheme == "https"
            error, detail = classify(exc, where, total, tls=tls)
            return _failure(start, error, detail)
        ok = 200 <= status < 300
        return AttemptResult(
            status_code=status,
            latency_ms=(time.perf_counter() - start) * 1000,
            response_body=body.decode("utf-8", errors="replace"),
            error=None if ok else ErrorClass.HTTP_STATUS,
            error_detail=_status_detail(where, status, cut, total),
            retry_after=retry_after,
            response_headers=answered,
        )

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def __aenter__(self) -> Sender:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _where_of(url: URL | str) -> str:
    """``host:port`` for error texts: never the path or query, which may hold tokens."""
    try:
        parsed = url if isinstance(url, URL) else URL(url)
        host, port = parsed.host or "", parsed.port
    except (ValueError, TypeError):
        return "the receiver"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _failure(start: float, error: ErrorClass, detail: str) -> AttemptResult:
    return AttemptResult(
        status_code=None,
        latency_ms=(time.perf_counter() - start) * 1000,
        response_body="",
        error=error,
        error_detail=detail,
        retry_after=None,
    )
