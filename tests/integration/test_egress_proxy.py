"""Deliveries through a real HTTP proxy (tinyproxy on loopback), still SSRF-guarded.

The receiver's name is resolved and judged before the proxy is asked, and the proxy is
asked for the judged address (``dispatch.egress``): its log shows ``127.0.0.1``, never
the name. https goes through ``CONNECT`` with the name kept for SNI and the certificate
check. A proxy that is down fails the attempt: nothing leaves around it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from hookline.dispatch.sender import Sender
from hookline.domain.deliveries import AttemptResult, ErrorClass, Outgoing
from hookline.domain.networks import parse_networks
from hookline.services.context import Context
from tests.support.engine import make_setup
from tests.support.process import free_port
from tests.support.proxy import Proxy, tinyproxy
from tests.support.receiver import Receiver
from tests.support.tls import issue, raw_server, read_request_head, server_context, trusting

LOOPBACK = parse_networks("127.0.0.0/8,::1/128")
BODY = b'{"topic": "t", "data": {}}'


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Proxy]:
    with tinyproxy(tmp_path) as p:
        yield p


async def post(url: str, proxy: str, **options: Any) -> AttemptResult:
    options.setdefault("allowed_networks", LOOPBACK)
    async with Sender(proxy=proxy, **options) as sender:
        return await sender.send(Outgoing(url=url, body=BODY, headers={"X-Api-Key": "k"}))


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_http_goes_through_the_proxy_to_the_checked_address(
    proxy: Proxy, receiver: Receiver, host: str
) -> None:
    url = receiver.url().replace("127.0.0.1", host)
    result = await post(url, proxy.url)
    assert result.ok, result.error_detail
    (got,) = receiver.received()
    assert "tinyproxy" in got.headers.get("Via", "")  # it came through the proxy
    # the request line names the checked address, and the proxy takes its Host from it
    assert got.headers["Host"] == f"127.0.0.1:{receiver.port}" and got.headers["X-Api-Key"] == "k"
    assert got.body == BODY
    assert proxy.requests() == [f"POST http://127.0.0.1:{receiver.port}/hook HTTP/1.1"]


@pytest.fixture
async def tls_receiver(tmp_path: Path) -> AsyncIterator[tuple[int, Any]]:
    """An https receiver whose certificate names ``localhost`` only (not 127.0.0.1)."""
    ca = issue("test CA", ca=True)
    cert = issue("receiver", [x509.DNSName("localhost")], issuer=ca)
    seen: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request_head(reader))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")
        await writer.drain()

    async with raw_server(answer, server_context(cert, tmp_path)) as port:
        yield port, (trusting(ca), seen)


async def test_https_is_a_connect_to_the_checked_address_verified_by_name(
    proxy: Proxy, tls_receiver: tuple[int, Any]
) -> None:
    port, (trust, seen) = tls_receiver
    result = await post(f"https://localhost:{port}/hook", proxy.url, tls_context=trust)
    assert result.ok, result.error_detail
    assert proxy.requests() == [f"CONNECT 127.0.0.1:{port} HTTP/1.1"]
    (head,) = seen
    assert f"Host: localhost:{port}".encode() in head


async def test_https_to_a_name_the_certificate_lacks_still_fails(
    proxy: Proxy, tls_receiver: tuple[int, Any]
) -> None:
    port, (trust, _seen) = tls_receiver
    result = await post(f"https://127.0.0.1:{port}/hook", proxy.url, tls_context=trust)
    assert result.error is ErrorClass.TLS_ERROR


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "2130706433"])
async def test_the_guard_refuses_before_the_proxy_is_asked(
    proxy: Proxy, receiver: Receiver, host: str
) -> None:
    url = receiver.url().replace("127.0.0.1", host)
    result = await post(url, proxy.url, allowed_networks=())  # loopback not allowed
    assert result.error is ErrorClass.BLOCKED_ADDRESS, result.error_detail
    assert "loopback" in (result.error_detail or "")
    assert proxy.requests() == [] and receiver.received() == []


async def test_a_proxy_that_is_down_fails_the_attempt_and_nothing_goes_direct(
    receiver: Receiver,
) -> None:
    result = await post(receiver.url(), f"http://127.0.0.1:{free_port()}")
    assert result.error is ErrorClass.CONNECT_ERROR
    assert receiver.received() == []


async def test_a_worker_delivers_through_the_proxy(
    ctx: Context, proxy: Proxy, receiver: Receiver
) -> None:
    from hookline.dispatch.worker import Worker

    setup = make_setup(ctx, [receiver.url("/via")])
    setup.publish()
    sender = Sender(allowed_networks=LOOPBACK, proxy=proxy.url)
    worker = Worker(queue=ctx.queue, sender=sender, decrypt=ctx.box.decrypt, clock=ctx.clock)
    try:
        await worker.run_until_idle()
    finally:
        await sender.close()
    (row,) = setup.deliveries()
    assert row.state == "delivered"
    assert "tinyproxy" in receiver.received()[0].headers.get("Via", "")
    assert proxy.requests() == [f"POST http://127.0.0.1:{receiver.port}/via HTTP/1.1"]
