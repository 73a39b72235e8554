"""``python -m bench.run``'s options: the load, hookline's topology, the run itself."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.harness import TOPOLOGIES
from hookline.config import Settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.run", description="hookline end-to-end delivery benchmark."
    )
    _add_load_options(p)
    _add_hookline_options(p)
    _add_run_options(p)
    args = p.parse_args(argv)
    if args.quick:
        _make_quick(args)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for b in args.backends:
        if b not in ("sqlite", "postgresql"):
            p.error(f"unknown backend {b!r}")
    if not 1 <= args.batch <= 1000:
        p.error("--batch must be 1..1000 (the ingest API's limit)")
    _resolve_topology(p, args)
    return args


def _resolve_topology(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--workers alone keeps its old meaning (N: split, 0: embedded); neither: serve."""
    if args.topology is None:
        if args.workers is None:
            args.topology = "serve"
        else:
            args.topology = "embedded" if args.workers == 0 else "split"
    if args.topology == "split":
        args.workers = 2 if args.workers is None else args.workers
        if args.workers < 1:
            p.error("--topology split needs --workers 1 or more")
    elif args.topology == "serve" and args.workers is not None:
        if args.workers < 1:
            p.error("--topology serve --workers needs 1 or more (0 is --topology embedded)")
        # serve's own worker processes (`serve --workers N`): the scaling table
    elif args.workers:
        p.error(f"--workers is for --topology split or serve, not {args.topology}")
    else:
        args.workers = 0


def _add_load_options(p: argparse.ArgumentParser) -> None:
    """What is sent: the burst and the paced phases."""
    p.add_argument("--events", type=int, default=50_000, help="Events in the burst.")
    p.add_argument("--batch", type=int, default=1000, help="Events per ingest request.")
    p.add_argument("--publish-lanes", type=int, default=2, help="Ingest requests in flight.")
    p.add_argument("--backends", default="sqlite,postgresql", help="sqlite,postgresql")
    p.add_argument("--rate", type=float, default=1000.0, help="Events/s of the steady phase.")
    p.add_argument("--steady-seconds", type=float, default=15.0)
    p.add_argument("--steady-interval", type=float, default=0.02, help="Seconds per batch.")
    p.add_argument(
        "--probe-rate",
        type=float,
        default=100.0,
        help="Events/s of a low-rate probe after the steady phase (latency floor; no target).",
    )
    p.add_argument("--probe-seconds", type=float, default=5.0, help="0: no probe.")


def _add_hookline_options(p: argparse.ArgumentParser) -> None:
    """How hookline runs: processes and their concurrency."""
    p.add_argument(
        "--topology",
        choices=TOPOLOGIES,
        default=None,
        help="serve: plain `hookline serve`, what users run (one worker process per core;"
        " the default); split: `serve --no-worker` plus --workers `hookline worker`"
        " processes; embedded: `serve --workers 0`.",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="`hookline worker` processes beside `serve --no-worker` (implies --topology"
        " split, 2 by default there); 0: --topology embedded, as before. With --topology"
        " serve: serve's own worker processes (`serve --workers N`; default one per core).",
    )
    p.add_argument(
        "--worker-concurrency", type=int, default=150, help="HOOKLINE_WORKER_CONCURRENCY."
    )
    p.add_argument(
        "--worker-nice",
        type=int,
        default=None,
        help="HOOKLINE_WORKER_NICE (default: hookline's own).",
    )
    p.add_argument(
        "--webhook-concurrency",
        type=int,
        default=200,
        help="HOOKLINE_WEBHOOK_CONCURRENCY (3 webhooks share every worker's slots).",
    )


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """The ceiling, the receiver, profiling, waits and output."""
    p.add_argument("--ceiling-seconds", type=float, default=8.0)
    p.add_argument("--receiver", choices=("auto", "nginx", "builtin"), default="auto")
    p.add_argument("--no-profile", action="store_true", help="Skip profiling passes.")
    p.add_argument(
        "--profiler",
        choices=("sampler", "cprofile"),
        default="sampler",
        help="Profiling pass: CPU-time sampler (default) or cProfile in every thread.",
    )
    p.add_argument("--profile-events", type=int, default=10_000)
    p.add_argument("--profile-steady-seconds", type=float, default=5.0)
    p.add_argument("--drain-timeout", type=float, default=300.0, help="Longest wait per phase.")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="Longest wait for other processes to go quiet before a measured phase.",
    )
    p.add_argument("--seed", type=int, default=20260101)
    p.add_argument("--output", type=Path, default=Path("docs/benchmarks.md"))
    p.add_argument("--no-write", action="store_true", help="Print only; leave the docs alone.")
    p.add_argument("--keep", action="store_true", help="Keep the temp dir (logs, databases).")
    p.add_argument("--quick", action="store_true", help="Small numbers: a smoke run.")
    p.add_argument(
        "--backlog",
        action="store_true",
        help="Only the backlog scenario (bench/scenarios/backlog.py): claims and purges "
        "behind --backlog-pending and --backlog-history rows. Long: not in the default run.",
    )
    p.add_argument("--backlog-pending", type=int, default=1_000_000)
    p.add_argument("--backlog-history", type=int, default=1_000_000)
    p.add_argument(
        "--backlog-churn",
        type=int,
        default=0,
        help="Deliveries claimed and settled after loading, autovacuum off (dead entries).",
    )
    p.add_argument("--backlog-due", type=int, default=30_000, help="Rows claimed per measure.")


def _make_quick(args: argparse.Namespace) -> None:
    """Small numbers for a smoke run, which never replaces the real figures."""
    args.events = min(args.events, 3000)
    args.steady_seconds = min(args.steady_seconds, 3.0)
    args.probe_seconds = min(args.probe_seconds, 2.0)
    args.ceiling_seconds = min(args.ceiling_seconds, 2.0)
    args.profile_events = min(args.profile_events, 2000)
    args.profile_steady_seconds = min(args.profile_steady_seconds, 2.0)
    args.drain_timeout = min(args.drain_timeout, 120.0)
    if args.output == Path("docs/benchmarks.md"):
        args.no_write = True  # a smoke run must not replace the real figures


def or_default(value: int, setting: str) -> int:
    """A --*-concurrency option; 0 (not passed to hookline) is hookline's own default."""
    return value or int(Settings.model_fields[setting].default)
