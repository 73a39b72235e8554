"""`hookline listen` on real loopback sockets, fed requests signed by hookline's own code."""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiohttp import web
from rich.console import Console

from hookline.catalog import TOPICS
from hookline.devtools.listen import ConsolePrinter, Exchange, Listener
from hookline.domain import wire
from hookline.domain.secrets import generate_share_secret
from tests.support.process import Process, free_port

SECRET = generate_share_secret()
HOOKLINE_HEADERS = (
    "Content-Type",
    "CrescLab-Idempotency-Key",
    "CrescLab-Signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "User-Agent",
)


@dataclass(frozen=True)
class Signed:
    body: bytes
    headers: dict[str, str]


def signed(
    topic: str = "receipt.receipt_validated",
    *,
    secrets: tuple[str, ...] = (SECRET,),
    key: str | None = None,
    test: bool = False,
    data: dict[str, object] | None = None,
) -> Signed:
    """A request exactly as hookline's worker would send it now."""
    now = datetime.now(UTC)
    body = wire.render_body(topic, data or TOPICS[topic].sample, now, "Asia/Taipei")
    headers = wire.delivery_headers(
        secrets=secrets,
        idempotency_key=key or wire.new_idempotency_key(),
        body=body,
        sent_at=now,
        test=test,
    )
    return Signed(body, headers)


class Recorder:
    """The ``on_request`` of the tests: keeps every exchange and prints it as the CLI does."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.out = io.StringIO()
        self._printer = ConsolePrinter(Console(file=self.out, width=200, color_system=None))

    def __call__(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        self._printer(exchange)

    @property
    def printed(self) -> str:
        return self.out.getvalue()


@asynccontextmanager
async def listening(
    secret: str | list[str] = SECRET, **options: object
) -> AsyncIterator[tuple[str, Recorder, httpx.AsyncClient]]:
    recorder = Recorder()
    listener = Listener(secret, on_request=recorder, **options)  # type: ignore[arg-type]
    async with listener.running("127.0.0.1", 0) as url, httpx.AsyncClient(base_url=url) as client:
        yield url, recorder, client


async def post(client: httpx.AsyncClient, request: Signed, path: str = "/hook") -> httpx.Response:
    return await client.post(path, content=request.body, headers=request.headers)


async def test_valid_request_is_answered_200_and_printed() -> None:
    async with listening() as (url, recorder, client):
        assert url.startswith("http://127.0.0.1:")
        request = signed(test=True)
        answer = await post(client, request, "/webhooks/maac?x=1")

    assert (answer.status_code, answer.text) == (200, "OK")
    [exchange] = recorder.exchanges
    assert exchange.verified
    assert exchange.verified_by == ("maac", "standard")
    assert exchange.topic == "receipt.receipt_validated"
    assert exchange.idempotency_key == request.headers["CrescLab-Idempotency-Key"]
    assert exchange.test
    assert exchange.path == "/webhooks/maac?x=1"
    assert exchange.body == request.body
    printed = recorder.printed
    assert "POST /webhooks/maac?x=1  → 200" in printed
    assert "✓ verified (CrescLab-Signature, webhook-signature)" in printed
    assert "receipt.receipt_validated" in printed
    assert request.headers["CrescLab-Idempotency-Key"] in printed
    assert "yes (CrescLab-Test: true)" in printed
    assert '"channel": "全家便利商店"' in printed  # pretty JSON, characters not \u escapes


async def test_bad_signature_is_answered_401_with_a_json_reason() -> None:
    async with listening() as (_url, recorder, client):
        good = signed()
        tampered = await post(client, Signed(good.body.replace(b"5821", b"5822"), good.headers))
        wrong_secret = await post(client, signed(secrets=(generate_share_secret(),)))

    for answer in (tampered, wrong_secret):
        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_signature"
        assert "does not match" in answer.json()["message"]
    assert [e.verified for e in recorder.exchanges] == [False, False]
    assert recorder.exchanges[0].failure_code == "invalid_signature"
    assert "✗ invalid_signature: CrescLab-Signature does not match the body" in recorder.printed
    assert "→ 401" in recorder.printed


async def test_unsigned_request_is_refused_with_the_missing_header_named() -> None:
    async with listening() as (_url, recorder, client):
        answer = await client.post("/hook", content=b"{}", headers={"Content-Type": "x"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "missing_header"
    assert "CrescLab-Signature" in answer.json()["message"]
    assert recorder.exchanges[0].idempotency_key is None
    assert "(none)" in recorder.printed


async def test_stale_timestamp_is_refused_within_the_given_tolerance() -> None:
    old = datetime.now(UTC) - timedelta(seconds=120)
    body = wire.render_body("message.first_open", TOPICS["message.first_open"].sample, old, "UTC")
    headers = wire.delivery_headers(
        secrets=[SECRET], idempotency_key=wire.new_idempotency_key(), body=body, sent_at=old
    )
    async with listening(tolerance=60) as (_url, recorder, client):
        answer = await post(client, Signed(body, headers))
    assert answer.status_code == 401
    assert answer.json()["error"] == "timestamp_too_old"
    assert recorder.exchanges[0].failure_code == "timestamp_too_old"


async def test_repeat_of_an_idempotency_key_is_noted_as_duplicate() -> None:
    async with listening() as (_url, recorder, client):
        request = signed()
        await post(client, request)
        await post(client, signed())  # another delivery: a different key
        again = await post(client, request)

    assert again.status_code == 200
    first, other, repeat = recorder.exchanges
    assert first.duplicate_of is None and other.duplicate_of is None
    assert repeat.duplicate_of == first.received_at
    assert repeat.duplicate_status == 200
    stamp = first.received_at.strftime("%H:%M:%S.%f")[:-3]
    assert f"duplicate of a request received at {stamp} (answered 200)" in recorder.printed
    assert recorder.printed.count("duplicate of") == 1


async def test_forged_request_does_not_mark_its_key_as_seen() -> None:
    async with listening() as (_url, recorder, client):
        genuine = signed()
        await post(client, Signed(genuine.body + b" ", genuine.headers))  # forged first
        await post(client, genuine)
    forged, real = recorder.exchanges
    assert not forged.verified and real.verified
    assert real.duplicate_of is None


async def test_rotation_old_and_new_secret_both_verify() -> None:
    old, new = SECRET, generate_share_secret()
    async with listening([new, old]) as (_url, recorder, client):
        during_grace = await post(client, signed(secrets=(new, old)))
        after_rotation = await post(client, signed(secrets=(new,)))
    assert (during_grace.status_code, after_rotation.status_code) == (200, 200)
    assert all(e.verified for e in recorder.exchanges)


async def test_fail_rate_1_answers_500_and_the_retry_is_a_duplicate() -> None:
    async with listening(fail_rate=1.0) as (_url, recorder, client):
        request = signed()
        first = await post(client, request)
        retry = await post(client, request)

    assert (first.status_code, retry.status_code) == (500, 500)
    assert first.json()["error"] == "simulated_failure"
    assert all(e.simulated_failure and e.verified for e in recorder.exchanges)
    assert recorder.exchanges[1].duplicate_status == 500
    assert "500 on purpose (--fail-rate)" in recorder.printed


async def test_fail_rate_picks_requests_from_the_given_random_source() -> None:
    expected_rng = random.Random(7)
    expected = [500 if expected_rng.random() < 0.3 else 200 for _ in range(20)]
    async with listening(fail_rate=0.3, rng=random.Random(7)) as (_url, _recorder, client):
        statuses = [(await post(client, signed())).status_code for _ in range(20)]
    assert statuses == expected
    assert {200, 500} <= set(statuses)


async def test_body_that_does_not_fit_its_topic_is_flagged_but_answered() -> None:
    data = {**TOPICS["message.first_open"].sample, "message_type": "carrier pigeon"}
    async with listening() as (_url, recorder, client):
        answer = await post(client, signed("message.first_open", data=data))
    assert answer.status_code == 200
    problem = recorder.exchanges[0].payload_problem
    assert problem is not None and "message_type" in problem
    assert "⚠ message.first_open body does not match its schema" in recorder.printed


class Upstream:
    """The engineer's own app: records what it gets and answers 201."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, dict(request.headers), await request.read()))
        return web.json_response({"stored": True}, status=201)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            yield f"http://127.0.0.1:{runner.addresses[0][1]}/app/hook"
        finally:
            await runner.cleanup()


async def test_forward_sends_identical_body_and_headers_and_relays_the_answer() -> None:
    upstream = Upstream()
    async with (
        upstream.running() as target,
        listening(forward_to=target) as (_url, recorder, client),
    ):
        request = signed(test=True)
        answer = await post(client, request)
        await post(client, Signed(request.body + b" ", request.headers))  # not forwarded

    assert answer.status_code == 201
    assert answer.json() == {"stored": True}
    [(path, headers, body)] = upstream.requests
    assert path == "/app/hook"
    assert body == request.body
    for name in (*HOOKLINE_HEADERS, "CrescLab-Test"):
        assert headers[name] == request.headers[name], name
    forwarded = recorder.exchanges[0].forwarded
    assert forwarded is not None and forwarded.status == 201 and forwarded.url == target
    assert recorder.exchanges[1].forwarded is None
    assert f"forwarded        {target} → 201 in " in recorder.printed


async def test_simulated_failures_are_not_forwarded() -> None:
    upstream = Upstream()
    async with (
        upstream.running() as target,
        listening(forward_to=target, fail_rate=1.0) as (_url, _recorder, client),
    ):
        answer = await post(client, signed())
    assert answer.status_code == 500
    assert upstream.requests == []


async def test_unreachable_forward_target_is_answered_502() -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    async with listening(forward_to=dead) as (_url, recorder, client):
        answer = await post(client, signed())
    assert answer.status_code == 502
    assert answer.json()["error"] == "forward_failed"
    forwarded = recorder.exchanges[0].forwarded
    assert forwarded is not None and forwarded.status is None and forwarded.error
    assert f"{dead} ✗" in recorder.printed


async def test_get_explains_what_the_server_is() -> None:
    async with listening() as (_url, recorder, client):
        answer = await client.get("/")
    assert answer.status_code == 200
    assert "POST webhooks" in answer.text
    assert recorder.exchanges == []


def test_unusable_secret_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="not a Standard Webhooks secret"):
        Listener("not base64!")
    with pytest.raises(ValueError, match="fail_rate"):
        Listener(SECRET, fail_rate=1.5)


@pytest.fixture
def listen_process() -> Iterator[tuple[Process, int]]:
    port = free_port()
    process = Process("hookline listen", "listen", "--secret", SECRET, "--port", str(port))
    try:
        yield process, port
    finally:
        process.stop()


def test_hookline_listen_as_a_real_process(listen_process: tuple[Process, int]) -> None:
    process, port = listen_process
    process.wait_for_port(port)
    process.wait_for_output(f"hookline listen on http://127.0.0.1:{port}/")
    request = signed("prize.points_added")

    answer = httpx.post(
        f"http://127.0.0.1:{port}/hook", content=request.body, headers=request.headers
    )

    assert (answer.status_code, answer.text) == (200, "OK")
    process.wait_for_output("prize.points_added")
    process.wait_for_output(request.headers["CrescLab-Idempotency-Key"])
    assert "✓ verified" in process.output
    assert SECRET not in process.output  # only its last characters are shown
    assert process.stop() == 0  # SIGTERM is a clean stop
