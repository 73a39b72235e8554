"""Turning whatever an attempt raised into an error class and a short, readable text.

Exceptions from the client library carry different attributes from version to version
(aiohttp's TLS errors subclass ``ssl.SSLError`` without its ``reason``), so nothing here
reads an attribute without a default, and :func:`classify` itself cannot fail: a bug in
the rules still yields a recorded attempt instead of a delivery stuck in flight.
The texts never repeat the URL (its path or query may hold tokens), only host and port.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterator

import aiohttp

from hookline.domain.deliveries import ErrorClass

log = logging.getLogger(__name__)


class BlockedAddressError(Exception):
    """The guard refused a delivery target; nothing was sent. The message names why."""


# OpenSSL reasons that say "this is not a TLS server" better in words.
_NOT_TLS = "the server did not answer in TLS (a plain HTTP port?)"
_PLAIN_REASONS = {
    "WRONG_VERSION_NUMBER": _NOT_TLS,
    "RECORD_LAYER_FAILURE": _NOT_TLS,
    "PACKET_LENGTH_TOO_LONG": _NOT_TLS,
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts, and aiohttp's wrapped certificate error."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (
            getattr(current, "certificate_error", None),
            current.__cause__,
            current.__context__,
        ):
            if isinstance(linked, BaseException):
                pending.append(linked)


def _tls_reason(chain: list[BaseException]) -> str | None:
    """Why the TLS handshake failed, if anything in ``chain`` is a TLS error."""
    is_tls = False
    for item in chain:
        if not isinstance(item, ssl.SSLError | aiohttp.ClientSSLError):
            continue
        is_tls = True
        verify = getattr(item, "verify_message", None)
        if isinstance(verify, str) and verify:
            return verify
        reason = getattr(item, "reason", None)
        if isinstance(reason, str) and reason:
            return _PLAIN_REASONS.get(reason, reason.replace("_", " ").lower())
    return "handshake failed" if is_tls else None


def _rules(
    exc: BaseException, where: str, total_timeout: float, tls: bool
) -> tuple[ErrorClass, str]:
    chain = list(_chain(exc))
    for item in chain:
        if isinstance(item, BlockedAddressError):
            return ErrorClass.BLOCKED_ADDRESS, str(item)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ErrorClass.TIMEOUT, f"connecting to {where} timed out"
    if isinstance(exc, TimeoutError):
        return ErrorClass.TIMEOUT, f"no complete response from {where} within {total_timeout:g}s"
    if _closed_in_handshake(exc, chain, tls):
        # Kept a connection error (retried): a restarting server or balancer does this too.
        return ErrorClass.CONNECT_ERROR, f"{where} closed the connection during TLS handshake"
    reason = _tls_reason(chain)
    if reason is not None:
        return ErrorClass.TLS_ERROR, f"TLS error with {where}: {reason}"
    for item in chain:
        if isinstance(item, aiohttp.ClientConnectorDNSError | socket.gaierror):
            why = getattr(item, "strerror", None) or "lookup failed"
            return ErrorClass.DNS_ERROR, f"cannot resolve {where}: {why}"
    for item in chain:
        if isinstance(item, ConnectionRefusedError):
            return ErrorClass.CONNECT_ERROR, f"connection refused to {where}"
    return _plain_connect(exc, where)


def _closed_in_handshake(exc: BaseException, chain: list[BaseException], tls: bool) -> bool:
    """Connected, then dropped before any HTTP: only the TLS handshake was under way."""
    if not isinstance(exc, aiohttp.ClientConnectorError):
        return False  # past the connector: the handshake had succeeded
    if any(isinstance(item, ssl.SSLEOFError) for item in chain):
        return True
    dropped = any(isinstance(i, ConnectionResetError | ConnectionAbortedError) for i in chain)
    return tls and dropped


def _plain_connect(exc: BaseException, where: str) -> tuple[ErrorClass, str]:
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return ErrorClass.CONNECT_ERROR, f"{where} closed the connection without a response"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return ErrorClass.CONNECT_ERROR, f"the response from {where} was cut short"
    if isinstance(exc, aiohttp.ClientResponseError):
        # Its str() repeats the URL, which may carry tokens: never show it.
        return ErrorClass.CONNECT_ERROR, f"invalid HTTP response from {where}"
    strerror = getattr(exc, "strerror", None)
    if isinstance(exc, OSError) and isinstance(strerror, str) and strerror:
        return ErrorClass.CONNECT_ERROR, f"cannot connect to {where}: {strerror}"
    if not isinstance(exc, aiohttp.ClientError | OSError):
        # Not a network failure: a bug here or in the client library. Recorded all the
        # same, and logged whole so that it gets fixed.
        log.error("unexpected error sending to %s", where, exc_info=exc)
        return ErrorClass.CONNECT_ERROR, f"unexpected error sending to {where} ({_name(exc)})"
    return ErrorClass.CONNECT_ERROR, f"cannot connect to {where} ({_name(exc)})"


def _name(exc: BaseException) -> str:
    return type(exc).__name__


def classify(
    exc: BaseException, where: str, total_timeout: float, *, tls: bool = False
) -> tuple[ErrorClass, str]:
    """Map an exception from an attempt to an error class and a short, secret-free text.

    Never raises: if the rules themselves fail, the attempt is still recorded as a
    connection error naming the original exception's type.
    """
    try:
        return _rules(exc, where, total_timeout, tls)
    except Exception:
        log.exception("classifying %s from %s failed", _name(exc), where)
        return ErrorClass.CONNECT_ERROR, f"cannot connect to {where} ({_name(exc)})"
