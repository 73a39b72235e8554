"""The sender against receivers that fail in TLS or in the middle of a body.

Every outcome must come back as an AttemptResult: an exception out of ``send`` leaves a
delivery in flight with no attempt, reclaimed and failing the same way for ever.
Real sockets on 127.0.0.1 only; certificates are made by the test.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from hookline.dispatch.failures import classify
from hookline.dispatch.sender import AttemptResult, ErrorClass, Outgoing, Sender
from hookline.domain.retry import Verdict, judge
from hookline.domain.settlement import outcome_of
from hookline.domain.urls import parse_networks
from tests.support.tls import (
    issue,
    loopback_ip,
    raw_server,
    read_request_head,
    server_context,
    trusting,
    until_client_leaves,
)

LOOPBACK = parse_networks("127.0.0.0/8,::1/128")
BODY = b'{"topic": "t", "data": {}}'


async def post(url: str, **options: Any) -> AttemptResult:
    async with Sender(allowed_networks=LOOPBACK, **options) as sender:
        return await sender.send(Outgoing(url=url, body=BODY, headers={}))


async def answer_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request_head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")
    await writer.drain()


# -- TLS ----------------------------------------------------------------------------


async def test_https_to_a_plain_http_port_is_a_tls_error() -> None:
    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)  # a ClientHello, read as if it were a request
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with raw_server(plain_http) as port:
        result = await post(f"https://127.0.0.1:{port}/hook?token=secret")

    assert (result.status_code, result.error) == (None, ErrorClass.TLS_ERROR)
    assert result.error_detail == (
        f"TLS error with 127.0.0.1:{port}: the server did not answer in TLS (a plain HTTP port?)"
    )


async def test_a_self_signed_certificate_is_a_tls_error(tmp_path: Path) -> None:
    tls = server_context(issue("receiver", loopback_ip()), tmp_path)
    async with raw_server(answer_ok, tls) as port:
        result = await post(f"https://127.0.0.1:{port}/hook")

    assert (result.status_code, result.error) == (None, ErrorClass.TLS_ERROR)
    assert result.error_detail == f"TLS error with 127.0.0.1:{port}: self-signed certificate"


async def test_a_certificate_for_another_name_is_a_tls_error(tmp_path: Path) -> None:
    ca = issue("test CA", ca=True)
    wrong = issue("receiver", [x509.DNSName("crm.example.com")], issuer=ca)
    right = issue("receiver", loopback_ip(), issuer=ca)

    async with raw_server(answer_ok, server_context(wrong, tmp_path)) as port:
        result = await post(f"https://127.0.0.1:{port}/hook", tls_context=trusting(ca))
    async with raw_server(answer_ok, server_context(right, tmp_path)) as port_ok:
        control = await post(f"https://127.0.0.1:{port_ok}/hook", tls_context=trusting(ca))

    assert (result.status_code, result.error) == (None, ErrorClass.TLS_ERROR)
    assert result.error_detail is not None
    assert result.error_detail.startswith(f"TLS error with 127.0.0.1:{port}: IP address mismatch")
    assert (control.status_code, control.error, control.response_body) == (200, None, "OK")


@pytest.mark.parametrize("how", ["abort", "close"])
async def test_a_server_closing_during_the_handshake_is_a_connection_error(how: str) -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(10)  # the start of the ClientHello
        if how == "abort":
            writer.transport.abort()
        else:
            writer.close()

    async with raw_server(drop) as port:
        result = await post(f"https://127.0.0.1:{port}/hook")

    assert (result.status_code, result.error) == (None, ErrorClass.CONNECT_ERROR)
    assert result.error_detail == f"127.0.0.1:{port} closed the connection during TLS handshake"


# -- nothing escapes ----------------------------------------------------------------


class HostileTLSError(ssl.SSLError):
    """An SSLError whose attributes blow up when read, as a library's subclass might."""

    def __getattribute__(self, name: str) -> Any:
        if name in ("reason", "verify_message", "strerror", "certificate_error"):
            raise RuntimeError(f"no {name} here")
        return super().__getattribute__(name)


def test_classification_survives_exceptions_that_fail_when_read() -> None:
    assert classify(HostileTLSError(), "h:1", 15) == (
        ErrorClass.CONNECT_ERROR,
        "cannot connect to h:1 (HostileTLSError)",
    )


@pytest.mark.parametrize("raised", [HostileTLSError(), RuntimeError("a bug"), KeyError("x")])
async def test_any_exception_during_an_attempt_is_recorded(
    monkeypatch: pytest.MonkeyPatch, raised: Exception
) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise raised

    async with Sender(allowed_networks=LOOPBACK) as sender:
        monkeypatch.setattr(sender, "_get_session", explode)
        result = await sender.send(Outgoing(url="http://127.0.0.1:9/h", body=BODY, headers={}))

    assert (result.status_code, result.error) == (None, ErrorClass.CONNECT_ERROR)
    assert result.error_detail is not None and "127.0.0.1:9" in result.error_detail
    assert type(raised).__name__ in result.error_detail


async def test_cancellation_still_goes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    async def cancelled(*args: Any, **kwargs: Any) -> Any:
        raise asyncio.CancelledError

    async with Sender(allowed_networks=LOOPBACK) as sender:
        monkeypatch.setattr(sender, "_send", cancelled)
        with pytest.raises(asyncio.CancelledError):
            await sender.send(Outgoing(url="http://127.0.0.1:9/h", body=BODY, headers={}))


# -- bodies that never end: the status line decides ---------------------------------


def head(status: str, *headers: str) -> bytes:
    return ("\r\n".join([f"HTTP/1.1 {status}", *headers]) + "\r\n\r\n").encode()


@pytest.fixture
async def stalled_200() -> AsyncIterator[int]:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(head("200 OK", "Content-Length: 1000") + b"partial")
        await writer.drain()
        await until_client_leaves(reader)

    async with raw_server(stall) as port:
        yield port


def verdict(result: AttemptResult) -> Verdict:
    return judge(outcome_of(result))


async def test_a_200_whose_body_never_ends_is_delivered_with_the_cut_noted(
    stalled_200: int,
) -> None:
    result = await post(f"http://127.0.0.1:{stalled_200}/hook", total_timeout=0.3)

    assert (result.status_code, result.error, result.response_body) == (200, None, "partial")
    assert result.ok and verdict(result) is Verdict.DELIVERED
    assert result.error_detail == (
        f"127.0.0.1:{stalled_200} answered HTTP 200, but the response body did not end "
        "within 0.3s; the 2xx status counts: delivered"
    )


async def test_a_200_trickling_its_body_for_ever_is_delivered() -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(head("200 OK", "Transfer-Encoding: chunked"))
        while True:  # one byte at a time, until writing fails: the client hung up
            writer.write(b"1\r\nx\r\n")
            await writer.drain()
            await asyncio.sleep(0.02)

    async with raw_server(trickle) as port:
        result = await post(f"http://127.0.0.1:{port}/hook", total_timeout=0.3)

    assert (result.status_code, result.error) == (200, None)
    assert result.ok and set(result.response_body) == {"x"}
    assert result.error_detail is not None and "did not end within 0.3s" in result.error_detail


async def test_a_200_whose_connection_drops_mid_body_is_delivered() -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(head("200 OK", "Content-Length: 1000") + b"partial")
        await writer.drain()

    async with raw_server(drop) as port:
        result = await post(f"http://127.0.0.1:{port}/hook")

    assert (result.status_code, result.error) == (200, None)
    assert result.error_detail == (
        f"127.0.0.1:{port} answered HTTP 200, but the connection closed before the response "
        "body ended; the 2xx status counts: delivered"
    )


async def test_a_500_whose_body_never_ends_keeps_its_status_and_is_retried() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(head("500 Internal Server Error", "Content-Length: 1000", "Retry-After: 7"))
        await writer.drain()
        await until_client_leaves(reader)

    async with raw_server(stall) as port:
        result = await post(f"http://127.0.0.1:{port}/hook", total_timeout=0.3)

    assert (result.status_code, result.error, result.retry_after) == (
        500,
        ErrorClass.HTTP_STATUS,
        7.0,
    )
    assert verdict(result) is Verdict.RETRY
    assert result.error_detail == (
        f"127.0.0.1:{port} answered HTTP 500, but the response body did not end within 0.3s"
    )


async def test_the_sender_stays_usable_after_a_stalled_body(stalled_200: int) -> None:
    async with (
        raw_server(answer_ok) as ok_port,
        Sender(allowed_networks=LOOPBACK, total_timeout=0.3) as sender,
    ):
        first = await sender.send(
            Outgoing(url=f"http://127.0.0.1:{stalled_200}/h", body=BODY, headers={})
        )
        second = await sender.send(
            Outgoing(url=f"http://127.0.0.1:{ok_port}/h", body=BODY, headers={})
        )

    assert first.status_code == 200 and first.error_detail is not None
    assert (second.status_code, second.error_detail) == (200, None)
