"""Dashboard and receiver-library figures, the ones quoted in docs/dashboard.md.

    python -m bench.dashboard [--requests 300] [--deliveries 200000]

1. ``hookline serve --demo`` on a free loopback port with a fresh data dir (SQLite).
2. The demo member logs in (argon2 at its real cost) five times: median login time.
3. Three webhooks, then ``--requests`` GETs each of the list, a details page and the
   create form: p50 / p95 latency and page size, plus the static assets' sizes.
4. ``--deliveries`` finished deliveries spread over two days written straight into the
   database for one webhook; the details page (whose 24-hour chart groups them by hour)
   timed again.
5. ``hookline.receiver.verify`` and ``verify_and_parse`` per second on one core.

A benchmark, not a test: nothing here asserts a speed. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench import harness

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def demo_server(data_dir: Path) -> Iterator[str]:
    """``hookline serve --demo`` on a free port; its log goes beside ``data_dir``."""
    env = harness.hookline_env({"HOOKLINE_DATA_DIR": str(data_dir)})
    server = harness.Hookline(env, data_dir.parent, serve_args=["--demo"])
    try:
        server.start(timeout=30)
        yield server.base_url
    finally:
        server.stop()


def csrf(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field"
    return match.group(1)


def timed(call: Callable[[], httpx.Response], n: int) -> tuple[float, float, int]:
    samples = []
    size = 0
    for _ in range(n):
        start = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        size = len(response.content)
    samples.sort()
    return samples[n // 2], samples[int(n * 0.95)], size


def bulk_deliveries(data_dir: Path, platform_id: str, webhook_id: str, count: int) -> None:
    """Finished deliveries over the last two days, one in ten failed, written directly."""
    from hookline.bootstrap import build_context
    from hookline.config import Settings
    from hookline.domain import wire
    from hookline.domain.ids import new_ids
    from hookline.store import ingest as store

    ctx = build_context(Settings(data_dir=data_dir))
    now = datetime.now(UTC)
    chunk = 5000
    for first in range(0, count, chunk):
        size = min(chunk, count - first)
        event_ids, delivery_ids = new_ids("evt", size), new_ids("dlv", size)
        keys = wire.new_idempotency_keys(size)
        events, deliveries = [], []
        for i in range(size):
            at = now - timedelta(seconds=(first + i) * 2 * 86400 / count)
            events.append(
                store.event_row(
                    event_id=event_ids[i],
                    platform_id=platform_id,
                    topic="prize.points_added",
                    body=b"{}",
                    occurred_at=at,
                    received_at=at,
                )
            )
            row = store.delivery_row(
                delivery_id=delivery_ids[i],
                event_id=event_ids[i],
                webhook_id=webhook_id,
                platform_id=platform_id,
                topic="prize.points_added",
                idempotency_key=keys[i],
                now=at,
            )
            row.update(state="failed" if i % 10 == 0 else "delivered", completed_at=at)
            deliveries.append(row)
        with ctx.db.write() as conn:
            store.insert_events(conn, events)
            store.insert_deliveries(conn, deliveries)
    ctx.db.dispose()


def receiver_rates() -> tuple[float, float]:
    from hookline.catalog import TOPICS
    from hookline.domain import wire
    from hookline.domain.secrets import generate_share_secret
    from hookline.receiver import verify, verify_and_parse

    secret = generate_share_secret()
    now = datetime.now(UTC)
    topic = TOPICS["prize.points_added"]
    body = wire.render_body(topic.name, topic.sample, now, "Asia/Taipei")
    headers = wire.delivery_headers(
        secrets=[secret], idempotency_key=wire.new_idempotency_key(), body=body, sent_at=now
    )
    n = 20000
    plain = n / timeit.timeit(lambda: verify(body, headers, secret), number=n)
    parsed = n / timeit.timeit(lambda: verify_and_parse(body, headers, secret), number=n)
    return plain, parsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--deliveries", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hookline-bench-dash-") as tmp:
        data_dir = Path(tmp) / "var"
        with demo_server(data_dir) as base:
            creds = json.loads((data_dir / "demo-credentials.json").read_text())
            client = httpx.Client(base_url=base)
            logins = []
            for _ in range(5):
                client.cookies.clear()
                token = csrf(client.get("/login").text)
                form = {
                    "email": creds["member_email"],
                    "password": creds["member_password"],
                    "csrf_token": token,
                }
                start = time.perf_counter()
                client.post("/login", data=form)
                logins.append((time.perf_counter() - start) * 1000)
            print(f"login (argon2 at its real cost): median {statistics.median(logins):.0f} ms")
            token = csrf(client.get("/webhooks/new").text)
            ids = []
            for i in range(3):
                r = client.post(
                    "/webhooks/new",
                    data={
                        "name": f"hook {i}",
                        "url": f"http://127.0.0.1:9/h{i}",
                        "topics": ["prize.points_added"],
                        "csrf_token": token,
                    },
                )
                assert r.status_code == 303, r.text
                ids.append(r.headers["location"].split("?")[0].rsplit("/", 1)[1])
            pages = {
                "webhook list": "/webhooks",
                "details (empty log)": f"/webhooks/{ids[0]}",
                "create form": "/webhooks/new",
            }
            for label, path in pages.items():
                p50, p95, size = timed(lambda p=path: client.get(p), args.requests)
                print(f"{label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, {size:,} bytes")
            for asset in ("htmx.min.js", "app.css", "app.js"):
                print(f"/static/{asset}: {len(client.get(f'/static/{asset}').content):,} bytes")
            start = time.perf_counter()
            bulk_deliveries(data_dir, creds["platform_id"], ids[0], args.deliveries)
            print(
                f"wrote {args.deliveries:,} deliveries over two days"
                f" in {time.perf_counter() - start:.1f} s"
            )
            p50, p95, _ = timed(lambda: client.get(f"/webhooks/{ids[0]}"), 20)
            print(
                f"details with {args.deliveries:,} deliveries (chart of the last 24 h):"
                f" p50 {p50:.0f} ms, p95 {p95:.0f} ms"
            )
    plain, parsed = receiver_rates()
    print(f"hookline.receiver.verify: {plain:,.0f}/s; verify_and_parse: {parsed:,.0f}/s")


if __name__ == "__main__":
    main()
