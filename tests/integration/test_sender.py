"""The sender against real HTTP receivers on 127.0.0.1; no network calls are mocked.

Only loopback is ever contacted. Tests of refused targets additionally make every
socket connect on the event loop fail loudly, so a guard bug cannot reach out anywhere.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.resolver import ThreadedResolver

from hookline import __version__
from hookline.dispatch.send_by import SendTooLate
from hookline.dispatch.sender import RESPONSE_BODY_LIMIT, Sender, parse_retry_after
from hookline.domain.deliveries import AttemptResult, ErrorClass, Outgoing
from hookline.domain.networks import parse_networks

LOOPBACK = parse_networks("127.0.0.0/8,::1/128")
BODY = b'{"timestamp": "2026-11-28T15:43:26.582968+08:00", "topic": "t", "data": {"n": "\\u00e9"}}'
HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "CrescLab-Idempotency-Key": "0123456789abcdef0123456789abcdef",
    "CrescLab-Signature": "ab" * 32,
}


@dataclass(frozen=True)
class Seen:
    path: str
    raw_headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    peer: Any


class Receiver:
    """A webhook receiver that records every request it gets."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.port = 0
        self.never_set = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_post("/{name}", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        peer = request.transport.get_extra_info("peername")
        self.seen.append(Seen(request.path, request.raw_headers, await request.read(), peer))
        name = request.match_info["name"]
        if name == "ok":
            return web.Response(text="OK")
        if name == "fail":
            return web.Response(status=500, text="boom")
        if name == "redirect":
            return web.Response(status=302, headers={"Location": "/target"})
        if name == "busy":
            return web.Response(status=429, headers={"Retry-After": request.query["after"]})
        if name == "big":
            return web.Response(body=b"x" * 1_000_000)
        if name == "hang":
            await self.never_set.wait()
        return web.Response(status=404)

    def url(self, path: str = "ok", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/{path}"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    runner = web.AppRunner(rec.app, handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.port = runner.addresses[0][1]
    yield rec
    await runner.cleanup()


@pytest.fixture
async def sender() -> AsyncIterator[Sender]:
    async with Sender(allowed_networks=LOOPBACK) as s:
        yield s


@pytest.fixture
async def no_connect(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[Any]]:
    """Make any outgoing connection on the running loop fail; yield the attempts."""
    attempts: list[Any] = []
    loop = asyncio.get_running_loop()

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise AssertionError(f"the sender tried to connect: {args!r}")

    monkeypatch.setattr(loop, "sock_connect", refuse)
    monkeypatch.setattr(loop, "create_connection", refuse)
    yield attempts


async def send(sender: Sender, url: str, body: bytes = BODY) -> AttemptResult:
    return await sender.send(Outgoing(url=url, body=body, headers=HEADERS))


async def test_ok_sends_body_and_headers_byte_for_byte(sender: Sender, receiver: Receiver) -> None:
    result = await send(sender, receiver.url())

    assert result.ok
    assert (result.status_code, result.response_body) == (200, "OK")
    assert (result.error, result.error_detail, result.retry_after) == (None, None, None)
    assert result.latency_ms > 0
    [seen] = receiver.seen
    assert seen.body == BODY
    for name, value in HEADERS.items():
        assert (name.encode(), value.encode()) in seen.raw_headers
    headers = dict(seen.raw_headers)
    assert headers[b"User-Agent"] == f"hookline/{__version__}".encode()
    assert [k for k, _ in seen.raw_headers if k.lower() == b"content-type"] == [b"Content-Type"]


async def test_no_content_type_is_added_and_caller_user_agent_wins(
    sender: Sender, receiver: Receiver
) -> None:
    outgoing = Outgoing(url=receiver.url(), body=b"raw", headers={"User-Agent": "custom/1"})
    assert (await sender.send(outgoing)).ok
    headers = {k.lower(): v for k, v in receiver.seen[0].raw_headers}
    assert b"content-type" not in headers
    assert headers[b"user-agent"] == b"custom/1"
    assert receiver.seen[0].body == b"raw"


async def test_server_error_is_http_status_without_leaking_the_url(
    sender: Sender, receiver: Receiver
) -> None:
    result = await send(sender, receiver.url("fail?token=s3cret"))

    assert not result.ok
    assert (result.status_code, result.error) == (500, ErrorClass.HTTP_STATUS)
    assert result.response_body == "boom"
    assert result.error_detail is not None and "500" in result.error_detail
    assert "s3cret" not in result.error_detail


async def test_redirect_is_not_followed(sender: Sender, receiver: Receiver) -> None:
    result = await send(sender, receiver.url("redirect"))

    assert (result.status_code, result.error) == (302, ErrorClass.HTTP_STATUS)
    assert not result.ok
    assert [s.path for s in receiver.seen] == ["/redirect"]


async def test_retry_after_in_seconds(sender: Sender, receiver: Receiver) -> None:
    result = await send(sender, receiver.url("busy?after=7"))

    assert (result.status_code, result.error) == (429, ErrorClass.HTTP_STATUS)
    assert result.retry_after == 7.0


async def test_retry_after_as_http_date(sender: Sender, receiver: Receiver) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    result = await send(sender, receiver.url(f"busy?after={when}"))

    assert result.retry_after is not None
    assert 115 <= result.retry_after <= 121


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("0", 0.0),
        (" 120 ", 120.0),
        ("-1", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
        ("Wed, 99 Foo 2015 07:28:00 GMT", None),
        ("9" * 400, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_date_relative_to_now() -> None:
    now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 30.0


async def test_large_response_body_is_truncated_and_sender_stays_usable(
    sender: Sender, receiver: Receiver
) -> None:
    result = await send(sender, receiver.url("big"))

    assert result.ok
    assert result.response_body == "x" * RESPONSE_BODY_LIMIT
    assert (await send(sender, receiver.url())).ok
    assert len(receiver.seen) == 2
    # The rest of the megabyte was not drained: that connection was closed, not reused.
    assert receiver.seen[0].peer != receiver.seen[1].peer


async def test_timeout(receiver: Receiver) -> None:
    async with Sender(allowed_networks=LOOPBACK, total_timeout=0.3) as sender:
        result = await send(sender, receiver.url("hang"))

    assert (result.status_code, result.error) == (None, ErrorClass.TIMEOUT)
    assert result.response_body == ""
    assert 250 <= result.latency_ms < 5000
    assert [s.path for s in receiver.seen] == ["/hang"]


async def test_connection_refused(sender: Sender) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    result = await send(sender, f"http://127.0.0.1:{port}/")

    assert (result.status_code, result.error) == (None, ErrorClass.CONNECT_ERROR)
    assert result.error_detail == f"connection refused to 127.0.0.1:{port}"


async def test_dns_error(sender: Sender) -> None:
    result = await send(sender, "http://no-such-receiver.invalid/hook")

    assert (result.status_code, result.error) == (None, ErrorClass.DNS_ERROR)
    assert result.error_detail is not None and "no-such-receiver.invalid" in result.error_detail


BLOCKED = [
    ("http://127.0.0.1:{port}/ok", "127.0.0.1 is a loopback address"),
    ("http://127.0.0.1.:{port}/ok", "127.0.0.1 is a loopback address"),
    ("http://localhost:{port}/ok", "is a loopback address"),
    ("http://sub.localhost:{port}/ok", "is a loopback address"),
    ("http://[::1]:{port}/ok", "::1 is a loopback address"),
    ("http://2130706433:{port}/ok", "127.0.0.1 is a loopback address"),
    ("http://0x7f.0.0.1:{port}/ok", "127.0.0.1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]:{port}/ok", "is a loopback address"),
    ("http://\uff11\uff12\uff17.0.0.1:{port}/ok", "127.0.0.1 is a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
    ("http://10.0.0.1/", "10.0.0.1 is a private address"),
    ("http://192.168.1.1/", "192.168.1.1 is a private address"),
    ("http://[fe80::1]/", "fe80::1 is a link-local address"),
    ("http://0.0.0.0:{port}/ok", "0.0.0.0 is an unspecified address"),
    ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
]


@pytest.mark.parametrize(("template", "detail"), BLOCKED)
async def test_blocked_addresses_send_nothing(
    receiver: Receiver, no_connect: list[Any], template: str, detail: str
) -> None:
    async with Sender() as sender:
        result = await send(sender, template.format(port=receiver.port))

    assert result.error == ErrorClass.BLOCKED_ADDRESS
    assert (result.status_code, result.response_body, result.retry_after) == (None, "", None)
    assert result.error_detail is not None and detail in result.error_detail
    assert not result.ok
    assert no_connect == []
    assert receiver.seen == []


async def test_the_no_connect_guard_itself_catches_connections(
    sender: Sender, receiver: Receiver, no_connect: list[Any]
) -> None:
    # send never raises, so the guard's error comes back as a recorded failure
    result = await send(sender, receiver.url())

    assert (result.status_code, result.error) == (None, ErrorClass.CONNECT_ERROR)
    assert "(AssertionError)" in (result.error_detail or "")
    assert no_connect != []
    assert receiver.seen == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LocalHost."])
async def test_loopback_is_reached_when_allowed(
    sender: Sender, receiver: Receiver, host: str
) -> None:
    result = await send(sender, receiver.url(host=host))

    assert result.ok, result.error_detail
    assert len(receiver.seen) == 1


async def test_localhost_names_need_both_loopback_families(receiver: Receiver) -> None:
    async with Sender(allowed_networks=parse_networks("127.0.0.0/8")) as sender:
        result = await send(sender, receiver.url(host="app.localhost"))

    assert result.error == ErrorClass.BLOCKED_ADDRESS
    assert result.error_detail == "::1 is a loopback address"
    assert receiver.seen == []


async def test_metadata_stays_blocked_inside_an_allowed_network(no_connect: list[Any]) -> None:
    allowed = parse_networks("169.254.0.0/16")
    async with Sender(allowed_networks=allowed) as sender:
        result = await send(sender, "http://169.254.169.254/latest/meta-data/")

    assert result.error == ErrorClass.BLOCKED_ADDRESS
    assert result.error_detail == "169.254.169.254 is a cloud metadata address"
    assert no_connect == []


async def test_other_schemes_are_refused(sender: Sender, receiver: Receiver) -> None:
    result = await send(sender, f"ftp://127.0.0.1:{receiver.port}/ok")

    assert result.error == ErrorClass.BLOCKED_ADDRESS
    assert result.error_detail is not None and "http" in result.error_detail
    assert receiver.seen == []


def fake_dns(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> list[str]:
    """Answer every name the sender resolves with ``addresses``; return the names asked."""
    asked: list[str] = []

    async def resolve(
        self: ThreadedResolver, host: str, port: int = 0, family: int = socket.AF_INET
    ) -> list[dict[str, Any]]:
        asked.append(host)
        return [
            {
                "hostname": host,
                "host": a,
                "port": port,
                "family": socket.AF_INET6 if ":" in a else socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
            for a in addresses
        ]

    monkeypatch.setattr(ThreadedResolver, "resolve", resolve)
    return asked


async def test_a_name_resolving_to_a_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, no_connect: list[Any]
) -> None:
    asked = fake_dns(monkeypatch, "10.0.0.5")
    async with Sender() as sender:
        result = await send(sender, "https://receiver.example/hook")

    assert asked == ["receiver.example"]
    assert result.error == ErrorClass.BLOCKED_ADDRESS
    assert result.error_detail == "10.0.0.5 is a private address"
    assert no_connect == []


async def test_one_blocked_address_in_the_answer_refuses_the_delivery(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver, no_connect: list[Any]
) -> None:
    fake_dns(monkeypatch, "127.0.0.1", "10.0.0.5")
    async with Sender(allowed_networks=LOOPBACK) as sender:
        result = await send(sender, receiver.url(host="receiver.example"))

    assert result.error == ErrorClass.BLOCKED_ADDRESS
    assert no_connect == []
    assert receiver.seen == []


async def test_an_empty_answer_is_a_dns_error(
    monkeypatch: pytest.MonkeyPatch, no_connect: list[Any]
) -> None:
    fake_dns(monkeypatch)
    async with Sender() as sender:
        result = await send(sender, "https://receiver.example/hook")

    assert result.error == ErrorClass.DNS_ERROR
    assert no_connect == []


async def test_the_checked_address_is_the_one_connected_to(
    monkeypatch: pytest.MonkeyPatch, sender: Sender, receiver: Receiver
) -> None:
    asked = fake_dns(monkeypatch, "127.0.0.1")

    def no_second_lookup(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a second DNS lookup was made")

    monkeypatch.setattr(socket, "getaddrinfo", no_second_lookup)
    result = await send(sender, receiver.url(host="receiver.example"))

    assert result.ok, result.error_detail
    assert asked == ["receiver.example"]
    headers = {k.lower(): v for k, v in receiver.seen[0].raw_headers}
    assert headers[b"host"] == f"receiver.example:{receiver.port}".encode()


async def test_connections_are_reused(sender: Sender, receiver: Receiver) -> None:
    assert (await send(sender, receiver.url())).ok
    assert (await send(sender, receiver.url("fail"))).status_code == 500
    assert (await send(sender, receiver.url())).ok

    peers = {s.peer for s in receiver.seen}
    assert len(receiver.seen) == 3
    assert len(peers) == 1


async def test_session_is_created_lazily_and_close_is_idempotent() -> None:
    sender = Sender()
    await sender.close()
    async with Sender() as other:
        assert other._session is None
    await sender.close()


async def test_a_request_past_its_send_by_is_not_written(
    sender: Sender, receiver: Receiver
) -> None:
    """``SendTooLate`` when the connection is in hand after ``send_by``: nothing reaches
    the receiver; with time left the same request goes as usual."""
    late = Outgoing(url=receiver.url(), body=b"{}", headers={}, send_by=time.monotonic() - 0.001)
    with pytest.raises(SendTooLate):
        await sender.send(late)
    assert receiver.seen == []
    result = await sender.send(replace(late, send_by=time.monotonic() + 30))
    assert result.status_code == 200 and len(receiver.seen) == 1
