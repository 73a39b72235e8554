"""Publish random, schema-valid events through the ingest API at a steady rate.

This is the engine of ``hookline simulate``: it lets an operator watch webhooks flow
(or load-test a receiver) without a MAAC account. It talks to hookline only over the
public ingest HTTP API, exactly as a real producer would, so a simulation also proves
that the ingest path, the token and the platform's subscriptions work end to end.

Pacing is scheduled against one monotonic start time: event ``i`` is due at
``start + i / rate``. Sleeping a fixed interval after each send would add the request's
own latency to every step and drift ever further behind; scheduling against the start
lets a slow request be absorbed by the next, larger, batch. The clock and sleep are
injectable so tests can check the schedule with a fake clock instead of real waiting.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from hookline.catalog import TOPICS
from hookline.devtools.fake import fake_data

BATCH_PATH = "/internal/v1/events/batch"
MAX_BATCH = 1000  # the ingest API's limit per request
# Aim for at most this many requests per second: enough to make the flow look
# continuous, few enough that per-request overhead does not dominate at high rates.
REQUESTS_PER_SECOND = 10
MAX_ERRORS_KEPT = 5
_EPSILON = 1e-9

Event = dict[str, object]


class SimulationError(Exception):
    """The simulation cannot go on: hookline refused a whole request or is unreachable.

    ``status`` and ``code`` are the HTTP status and the problem ``code`` when hookline
    answered at all, so a caller can tell a wrong token from an outage.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class SimulationReport:
    """What happened: ``sent`` = ``accepted`` + ``rejected``; ``errors`` are distinct."""

    sent: int
    accepted: int
    rejected: int
    deliveries: int
    seconds: float
    errors: list[str] = field(default_factory=list)


def fake_event(platform_id: str, topic: str | None, rng: random.Random) -> Event:
    """One ingest event; a random topic when ``topic`` is None.

    The producer id comes from ``uuid4``, not from ``rng``: re-running a simulation
    with the same seed must send the same data, but hookline deduplicates producer
    ids, so reusing them would make the second run silently deliver nothing.
    """
    name = topic if topic is not None else rng.choice(sorted(TOPICS))
    return {
        "platform_id": platform_id,
        "topic": name,
        "data": fake_data(name, rng),
        "id": f"sim-{uuid.uuid4().hex}",
    }


def chunk_size(rate: float, batch_size: int) -> int:
    """Events per request when on schedule: about ``REQUESTS_PER_SECOND`` requests/s.

    At 2 events/s this is 1, so events trickle in one at a time as they would from
    MAAC; at high rates it grows up to ``batch_size``.
    """
    return max(1, min(batch_size, int(rate / REQUESTS_PER_SECOND)))


def _problem_message(status: int, body: Any, text: str) -> tuple[str, str | None]:
    if isinstance(body, dict):
        code = body.get("code")
        detail = body.get("detail") or body.get("title") or text
        return str(detail), str(code) if code is not None else None
    return (text.strip()[:200] or f"HTTP {status}"), None


async def _post(
    session: aiohttp.ClientSession, base_url: str, token: str, events: list[Event]
) -> list[Any]:
    url = base_url.rstrip("/") + BATCH_PATH
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with session.post(url, json={"events": events}, headers=headers) as response:
            text = await response.text()
            try:
                body: Any = await response.json(content_type=None)
            except ValueError:
                body = None
            status = response.status
    except aiohttp.ClientConnectorError as exc:
        raise SimulationError(f"cannot reach hookline at {base_url}: {exc}") from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SimulationError(f"request to hookline at {url} failed: {exc!r}") from exc
    if not 200 <= status < 300:
        detail, code = _problem_message(status, body, text)
        hint = " (is the ingest token right?)" if status == 401 else ""
        label = f"{status} {code}" if code else str(status)
        raise SimulationError(
            f"hookline refused the batch ({label}): {detail}{hint}", status=status, code=code
        )
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list) or len(results) != len(events):
        raise SimulationError(
            f"unexpected answer from {url}: expected {len(events)} results, got {text[:200]!r}",
            status=status,
        )
    return results


def _describe(error: Any) -> str:
    """``code: message``, plus the first field error, which usually says what to fix."""
    if not isinstance(error, dict):
        return str(error)
    message = f"{error.get('code', 'error')}: {error.get('detail') or error.get('message', '')}"
    details = error.get("errors")
    if isinstance(details, list) and details and isinstance(details[0], dict):
        first = details[0]
        where = first.get("field") or first.get("path")
        what = first.get("message", "")
        message += f" ({where}: {what})" if where else f" ({what})"
    return message


@dataclass
class _Tally:
    """The running count of one simulation's answers."""

    accepted: int = 0
    rejected: int = 0
    deliveries: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, results: list[Any]) -> None:
        """Count one batch's per-event results, keeping the first distinct errors."""
        for result in results:
            if isinstance(result, dict) and "event_id" in result:
                self.accepted += 1
                self.deliveries += int(result.get("deliveries") or 0)
            else:
                self.rejected += 1
                error = result.get("error") if isinstance(result, dict) else result
                message = _describe(error)
                if message not in self.errors and len(self.errors) < MAX_ERRORS_KEPT:
                    self.errors.append(message)


def _check_options(rate: float, count: int, batch_size: int, topic: str | None) -> None:
    if rate <= 0 or not math.isfinite(rate):
        raise ValueError("rate must be a positive number of events per second")
    if count < 0:
        raise ValueError("count must not be negative")
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}")
    if topic is not None and topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}; expected one of {sorted(TOPICS)}")


async def simulate(
    *,
    base_url: str,
    token: str,
    platform_id: str,
    topic: str | None,
    rate: float,
    count: int,
    batch_size: int = 100,
    seed: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> SimulationReport:
    """Send ``count`` random events for ``platform_id`` at ``rate`` events per second.

    Rejected events (e.g. the platform does not subscribe to the topic) are counted and
    their first distinct messages kept; a refused request (bad token, server error)
    stops the run with ``SimulationError``, because retrying it would fail the same way.
    Always uses the batch endpoint, with one-event batches at low rates, so every
    answer has the same shape and a per-event rejection never aborts the run.
    """
    _check_options(rate, count, batch_size, topic)
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    chunk = chunk_size(rate, batch_size)
    sent = 0
    tally = _Tally()
    start = clock()
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while sent < count:
            target = min(count, sent + chunk)
            due_at = start + (target - 1) / rate  # when the chunk's last event is due
            now = clock()
            if now < due_at:
                await sleep(due_at - now)
                now = clock()
            # Behind schedule (a slow request): catch up with everything already due.
            due_now = min(count, math.floor((now - start) * rate + _EPSILON) + 1)
            size = min(batch_size, max(target, due_now) - sent)
            events = [fake_event(platform_id, topic, rng) for _ in range(size)]
            tally.add(await _post(session, base_url, token, events))
            sent += size
            if on_progress is not None:
                on_progress(sent, count)
    return SimulationReport(
        sent=sent,
        accepted=tally.accepted,
        rejected=tally.rejected,
        deliveries=tally.deliveries,
        seconds=clock() - start,
        errors=tally.errors,
    )


__all__ = [
    "SimulationError",
    "SimulationReport",
    "chunk_size",
    "fake_event",
    "simulate",
]
