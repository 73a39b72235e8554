"""The producer side: events made up front, published as a burst or at a steady rate.

Event data comes from :func:`hookline.devtools.fake.fake_data` with a fixed seed, so
both backends get the same events. Request bodies are encoded before the clock starts:
the benchmark client should cost as little CPU as possible on a 2-core machine whose
other core is hookline's.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from hookline.devtools.fake import fake_data

TOPIC = "receipt.receipt_validated"
BATCH_PATH = "/internal/v1/events/batch"


def make_data(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311 - test data
    return [fake_data(TOPIC, rng) for _ in range(count)]


def encode_batches(
    data: list[dict[str, Any]], platform_id: str, prefix: str, batch: int
) -> list[tuple[bytes, int]]:
    """``(request body, events in it)`` per batch; producer ids are ``prefix`` + index."""
    out = []
    for start in range(0, len(data), batch):
        events = [
            {"platform_id": platform_id, "topic": TOPIC, "data": d, "id": f"{prefix}{start + i}"}
            for i, d in enumerate(data[start : start + batch])
        ]
        out.append((json.dumps({"events": events}).encode(), len(events)))
    return out


@dataclass
class PublishResult:
    requests: int = 0
    accepted: int = 0
    rejected: int = 0
    seconds: float = 0.0  # first request sent -> last answer read
    request_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    late_ms_max: float = 0.0  # steady mode: worst lag of a send behind its schedule

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds > 0 else 0.0


async def _post(
    session: aiohttp.ClientSession, url: str, token: str, body: bytes, result: PublishResult
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    start = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as response:
        text = await response.text()
        status = response.status
    result.request_ms.append((time.perf_counter() - start) * 1000)
    result.requests += 1
    if status != 202:
        raise RuntimeError(f"ingest answered {status}: {text[:300]}")
    answer = json.loads(text)
    result.accepted += int(answer["accepted"])
    result.rejected += int(answer["rejected"])
    for item in answer["results"]:
        if item.get("error") and len(result.errors) < 5:
            result.errors.append(json.dumps(item["error"])[:300])


async def burst(
    session: aiohttp.ClientSession,
    base_url: str,
    token: str,
    batches: list[tuple[bytes, int]],
    *,
    concurrency: int,
    on_progress: Callable[[int], None] | None = None,
) -> PublishResult:
    """As fast as hookline takes them, ``concurrency`` batch requests in flight."""
    url = base_url + BATCH_PATH
    result = PublishResult()
    pending = list(reversed(batches))

    async def lane() -> None:
        while pending:
            body, count = pending.pop()
            await _post(session, url, token, body, result)
            if on_progress is not None:
                on_progress(count)

    start = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - start
    return result


async def steady(
    session: aiohttp.ClientSession,
    base_url: str,
    token: str,
    batches: list[tuple[bytes, int]],
    *,
    interval: float,
    on_progress: Callable[[int], None] | None = None,
) -> PublishResult:
    """One batch every ``interval`` seconds on a fixed schedule, not waiting for answers.

    Batch ``k`` is sent at ``start + k * interval`` whatever happened to earlier ones,
    so a slow answer does not slow the offered rate (an open-loop load).
    """
    url = base_url + BATCH_PATH
    result = PublishResult()
    tasks: list[asyncio.Task[None]] = []

    async def one(body: bytes, count: int) -> None:
        await _post(session, url, token, body, result)
        if on_progress is not None:
            on_progress(count)

    start = time.perf_counter()
    for k, (body, count) in enumerate(batches):
        due = start + k * interval
        now = time.perf_counter()
        if now < due:
            await asyncio.sleep(due - now)
            now = time.perf_counter()
        result.late_ms_max = max(result.late_ms_max, (now - due) * 1000)
        tasks.append(asyncio.create_task(one(body, count)))
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - start
    return result


# -- the operator and platform API: one platform, zone 1, three webhooks ---------------


@dataclass(frozen=True)
class Tenant:
    platform_id: str
    api_token: str
    webhook_ids: list[str]


async def provision(
    session: aiohttp.ClientSession,
    base_url: str,
    operator_token: str,
    receiver_url: str,
    webhooks: int = 3,
) -> Tenant:
    op = {"Authorization": f"Bearer {operator_token}"}

    async def call(method: str, path: str, headers: dict[str, str], body: object) -> Any:
        async with session.request(method, base_url + path, json=body, headers=headers) as r:
            text = await r.text()
            if r.status >= 300:
                raise RuntimeError(f"{method} {path} answered {r.status}: {text[:300]}")
            return json.loads(text)

    created = await call("POST", "/v1/admin/platforms", op, {"name": "bench"})
    platform_id, api_token = created["id"], created["api_token"]
    await call(
        "PUT",
        f"/v1/admin/platforms/{platform_id}/zones/1",
        op,
        {"valid_until": "2099-12-31T23:59:59+08:00"},
    )
    pf = {"Authorization": f"Bearer {api_token}"}
    ids = []
    for n in range(1, webhooks + 1):
        hook = await call(
            "POST",
            "/v1/webhooks",
            pf,
            {"name": f"bench {n}", "url": f"{receiver_url}/hook/{n}", "topics": [TOPIC]},
        )
        ids.append(hook["id"])
    return Tenant(platform_id, api_token, ids)
