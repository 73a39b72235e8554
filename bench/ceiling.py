"""The raw ceiling: a bare aiohttp loop that signs and POSTs the same body, nothing else.

Run as its own process (``python -m bench.ceiling --url ... --body FILE``) so it gets
a core to itself, like a hookline process would. Each request is signed with
:func:`hookline.domain.wire.delivery_headers` (both HMAC-SHA256 signatures, a fresh
idempotency key and timestamp), exactly the signing work hookline does per attempt; no
database, no queue, no retry bookkeeping. ``--concurrency`` requests are kept in flight
over one keep-alive pool, like hookline's worker (``HOOKLINE_WORKER_CONCURRENCY``).

Prints one JSON line: requests, seconds, rate, failures, event loop, peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bench.harness import peak_rss_kib
from hookline.domain.secrets import generate_share_secret
from hookline.domain.wire import delivery_headers


async def _run(url: str, body: bytes, seconds: float, warmup: float, concurrency: int) -> dict:
    secret = generate_share_secret()
    connector = aiohttp.TCPConnector(limit=1000)
    counted = 0
    failures = 0
    measuring = False
    stop = False

    async with aiohttp.ClientSession(connector=connector) as session:

        async def one_loop() -> None:
            nonlocal counted, failures
            while not stop:
                headers = delivery_headers(
                    secrets=[secret],
                    idempotency_key=uuid.uuid4().hex,
                    body=body,
                    sent_at=datetime.now(UTC),
                )
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        ok = 200 <= response.status < 300
                except (aiohttp.ClientError, OSError):
                    ok = False
                if measuring:
                    if ok:
                        counted += 1
                    else:
                        failures += 1

        tasks = [asyncio.create_task(one_loop()) for _ in range(concurrency)]
        await asyncio.sleep(warmup)
        measuring = True
        start = time.perf_counter()
        await asyncio.sleep(seconds)
        measuring = False
        elapsed = time.perf_counter() - start
        stop = True
        await asyncio.gather(*tasks)
    loop_name = type(asyncio.get_running_loop()).__module__.split(".")[0]
    return {
        "requests": counted,
        "failures": failures,
        "seconds": elapsed,
        "rate": counted / elapsed if elapsed > 0 else 0.0,
        "concurrency": concurrency,
        "loop": loop_name,
        "peak_rss_kib": peak_rss_kib(os.getpid()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Raw aiohttp sign-and-POST ceiling.")
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", type=Path, required=True, help="File with the body to send.")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args(argv)
    body = args.body.read_bytes()
    coro = _run(args.url, body, args.seconds, args.warmup, args.concurrency)
    if args.loop == "uvloop":
        import uvloop

        result = uvloop.run(coro)
    else:
        result = asyncio.run(coro)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
