"""``simulate`` against a small real ingest server, with a fake clock for the pacing.

The server is a real aiohttp app on 127.0.0.1 implementing the ingest contract just
far enough (token, batch size limit, ``validate_data``, per-event results), so the
client's HTTP handling is exercised for real. Time is not: the server stamps each
request with the fake clock, and "latency" is simulated by moving that clock, so the
schedule is asserted exactly and the tests never wait.
"""

from __future__ import annotations

import math
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from hookline.catalog import TOPICS, validate_data
from hookline.devtools.simulate import SimulationError, SimulationReport, chunk_size, simulate

TOKEN = "hl_ingest_good"
PLATFORM = "pf_demo"
PRODUCER_ID = re.compile(r"^sim-[0-9a-f]{32}$")


@dataclass
class FakeClock:
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Ingest:
    """The fake ingest server's state: what arrived, when (fake time), and its knobs."""

    clock: FakeClock
    base_url: str = ""
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    arrived_at: list[float] = field(default_factory=list)
    latency: float = 0.0
    subscribed: set[str] = field(default_factory=lambda: set(TOPICS))
    fail_with: int | None = None

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for batch in self.batches for event in batch]

    def result(self, event: dict[str, Any]) -> dict[str, Any]:
        topic = TOPICS.get(event.get("topic", ""))
        if topic is None or event.get("platform_id") != PLATFORM:
            return {"error": {"code": "invalid_event", "message": "Unknown topic or platform."}}
        problems = validate_data(topic, event.get("data"))
        if problems:
            errors = [{"field": path, "message": message} for path, message in problems]
            return {"error": {"code": "invalid_data", "message": "Bad data.", "errors": errors}}
        if topic.name not in self.subscribed:
            message = f"The platform does not subscribe to {topic.name}."
            return {"error": {"code": "not_subscribed", "message": message}}
        return {"event_id": f"ev_{len(self.events)}", "deliveries": 2}

    async def handle(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _problem(401, "invalid_token", "The ingest token is not valid.")
        if self.fail_with is not None:
            return _problem(self.fail_with, "internal_error", "Something broke.")
        events = (await request.json())["events"]
        if len(events) > 1000:
            return _problem(413, "batch_too_large", "At most 1000 events per batch.")
        self.arrived_at.append(self.clock.now)
        self.clock.now += self.latency
        results = [self.result(event) for event in events]
        self.batches.append(events)
        return web.json_response({"results": results}, status=202)


def _problem(status: int, code: str, detail: str) -> web.Response:
    body = {"status": status, "code": code, "detail": detail}
    return web.json_response(body, status=status, content_type="application/problem+json")


@pytest.fixture
async def ingest() -> AsyncIterator[Ingest]:
    state = Ingest(clock=FakeClock())
    app = web.Application()
    app.router.add_post("/internal/v1/events/batch", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.base_url = f"http://127.0.0.1:{port}/"
    yield state
    await runner.cleanup()


async def run(ingest: Ingest, **overrides: Any) -> SimulationReport:
    options: dict[str, Any] = {
        "base_url": ingest.base_url,
        "token": TOKEN,
        "platform_id": PLATFORM,
        "topic": None,
        "rate": 1000.0,
        "count": 10,
        "clock": ingest.clock,
        "sleep": ingest.clock.sleep,
    }
    options.update(overrides)
    return await simulate(**options)


async def test_sends_count_valid_events_of_the_topic(ingest: Ingest) -> None:
    report = await run(ingest, topic="pnp.status_updated", count=25, batch_size=10)
    events = ingest.events
    assert len(events) == 25
    assert all(e["topic"] == "pnp.status_updated" and e["platform_id"] == PLATFORM for e in events)
    assert all(validate_data(TOPICS[e["topic"]], e["data"]) == [] for e in events)
    ids = [e["id"] for e in events]
    assert len(set(ids)) == 25 and all(PRODUCER_ID.match(i) for i in ids)
    assert all(len(batch) <= 10 for batch in ingest.batches)
    assert report.sent == report.accepted == 25
    assert (report.rejected, report.deliveries, report.errors) == (0, 50, [])


async def test_no_topic_means_a_random_topic_per_event(ingest: Ingest) -> None:
    await run(ingest, count=120, seed=3)
    topics = {e["topic"] for e in ingest.events}
    assert topics == set(TOPICS)
    assert all(validate_data(TOPICS[e["topic"]], e["data"]) == [] for e in ingest.events)


async def test_rejected_events_are_counted_and_their_errors_kept(ingest: Ingest) -> None:
    ingest.subscribed = {"message.first_open"}
    report = await run(ingest, count=60, seed=5)
    opened = sum(e["topic"] == "message.first_open" for e in ingest.events)
    assert 0 < opened < 60
    assert (report.sent, report.accepted, report.rejected) == (60, opened, 60 - opened)
    assert report.deliveries == 2 * opened
    assert 1 < len(report.errors) <= 5
    assert len(set(report.errors)) == len(report.errors)
    assert all(m.startswith("not_subscribed: The platform does not") for m in report.errors)


async def test_same_seed_sends_the_same_data_with_fresh_ids(ingest: Ingest) -> None:
    await run(ingest, count=5, seed=11)
    await run(ingest, count=5, seed=11)
    first, second = ingest.events[:5], ingest.events[5:]
    assert [e["data"] for e in first] == [e["data"] for e in second]
    assert not {e["id"] for e in first} & {e["id"] for e in second}


async def test_wrong_token_stops_with_the_servers_message(ingest: Ingest) -> None:
    with pytest.raises(SimulationError, match="The ingest token is not valid") as caught:
        await run(ingest, token="wrong", count=50)
    assert (caught.value.status, caught.value.code) == (401, "invalid_token")
    assert "401 invalid_token" in str(caught.value)
    assert ingest.batches == []


async def test_server_error_stops_the_run(ingest: Ingest) -> None:
    ingest.fail_with = 503
    with pytest.raises(SimulationError, match="Something broke") as caught:
        await run(ingest, count=50)
    assert caught.value.status == 503


async def test_unreachable_server_is_reported_plainly() -> None:
    with socket.socket() as probe:  # a port nobody listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clock = FakeClock()
    with pytest.raises(
        SimulationError, match=re.escape(f"cannot reach hookline at http://127.0.0.1:{port}")
    ):
        await simulate(
            base_url=f"http://127.0.0.1:{port}",
            token=TOKEN,
            platform_id=PLATFORM,
            topic=None,
            rate=5,
            count=3,
            clock=clock,
            sleep=clock.sleep,
        )


async def test_low_rate_sends_single_events_on_schedule(ingest: Ingest) -> None:
    start = ingest.clock.now
    progress: list[tuple[int, int]] = []
    report = await run(ingest, rate=2, count=5, on_progress=lambda s, c: progress.append((s, c)))
    assert [len(b) for b in ingest.batches] == [1] * 5
    assert [t - start for t in ingest.arrived_at] == pytest.approx([0, 0.5, 1.0, 1.5, 2.0])
    assert report.seconds == pytest.approx(2.0)
    assert progress == [(n, 5) for n in range(1, 6)]


async def test_pacing_does_not_drift_with_request_latency(ingest: Ingest) -> None:
    # A fixed sleep after each send would put requests at 0, 0.8, 1.6, ...
    ingest.latency = 0.3
    start = ingest.clock.now
    await run(ingest, rate=2, count=4)
    assert [t - start for t in ingest.arrived_at] == pytest.approx([0, 0.5, 1.0, 1.5])
    assert ingest.clock.sleeps == pytest.approx([0.2, 0.2, 0.2])


async def test_high_rate_sends_full_batches_never_ahead_of_the_rate(ingest: Ingest) -> None:
    start = ingest.clock.now
    report = await run(ingest, rate=1000, count=1000, batch_size=100)
    assert [len(b) for b in ingest.batches] == [100] * 10
    _assert_never_ahead(ingest, start, rate=1000)
    assert report.seconds == pytest.approx(0.999)


async def test_a_slow_server_is_caught_up_with_larger_batches(ingest: Ingest) -> None:
    ingest.latency = 1.0
    start = ingest.clock.now
    report = await run(ingest, rate=10, count=40, batch_size=8)
    sizes = [len(b) for b in ingest.batches]
    assert sum(sizes) == 40 and max(sizes) == 8
    assert len(sizes) < 10  # far fewer than one request per event
    _assert_never_ahead(ingest, start, rate=10)
    assert report.sent == 40


def _assert_never_ahead(ingest: Ingest, start: float, rate: float) -> None:
    sent = 0
    for arrived, batch in zip(ingest.arrived_at, ingest.batches, strict=True):
        sent += len(batch)
        assert sent <= math.floor((arrived - start) * rate + 1e-6) + 1


async def test_nothing_to_send_sends_nothing(ingest: Ingest) -> None:
    report = await run(ingest, count=0)
    assert report == SimulationReport(0, 0, 0, 0, 0.0, [])
    assert ingest.batches == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rate": 0}, "rate"),
        ({"rate": float("inf")}, "rate"),
        ({"count": -1}, "count"),
        ({"batch_size": 1001}, "batch_size"),
        ({"topic": "order.created"}, "unknown topic"),
    ],
)
async def test_bad_arguments_are_refused(
    ingest: Ingest, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await run(ingest, **overrides)


def test_chunk_size_grows_with_the_rate() -> None:
    assert chunk_size(2, 100) == 1
    assert chunk_size(250, 100) == 25
    assert chunk_size(50_000, 100) == 100
