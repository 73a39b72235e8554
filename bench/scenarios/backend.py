"""One backend's run: a fresh database, hookline on it, the phases, then the figures.

Every phase runs on the same database in turn (burst, steady, probe), so the steady
phase meets the tables the burst filled, as a real deployment would.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import aiohttp

from bench import harness, load, metrics
from bench.log import console
from bench.options import or_default
from bench.receiver import Receiver
from bench.results import BackendResult
from bench.scenarios import burst, probe, steady
from bench.scenarios.stage import INGEST_TOKEN, OPERATOR_TOKEN, SECRET_KEY, Stage

PAUSE_BETWEEN_PHASES = 1.0


class BackendRun:
    """Runs the phases on one backend after another, sharing the run's events."""

    def __init__(
        self,
        args: argparse.Namespace,
        workdir: Path,
        receiver: Receiver,
        data: list[dict[str, Any]],
    ) -> None:
        self.args = args
        self.workdir = workdir
        self.receiver = receiver
        self.data = data

    def env(self, backend_env: dict[str, str]) -> dict[str, str]:
        env = {
            "HOOKLINE_OPERATOR_TOKEN": OPERATOR_TOKEN,
            "HOOKLINE_INGEST_TOKEN": INGEST_TOKEN,
            "HOOKLINE_SECRET_KEY": SECRET_KEY,
            "HOOKLINE_ALLOW_HTTP": "true",
            "HOOKLINE_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
            **backend_env,
        }
        if self.args.worker_concurrency:
            env["HOOKLINE_WORKER_CONCURRENCY"] = str(self.args.worker_concurrency)
        if self.args.worker_nice is not None:
            env["HOOKLINE_WORKER_NICE"] = str(self.args.worker_nice)
        if self.args.webhook_concurrency:
            env["HOOKLINE_WEBHOOK_CONCURRENCY"] = str(self.args.webhook_concurrency)
        return harness.hookline_env(env)

    def topology(self) -> str:
        conc = or_default(self.args.worker_concurrency, "worker_concurrency")
        cap = or_default(self.args.webhook_concurrency, "webhook_concurrency")
        if self.args.topology == "split":
            return (
                f"`hookline serve --no-worker` + {self.args.workers} `hookline worker`"
                f" ({conc} in flight each, {cap} per webhook)"
            )
        if self.args.topology == "embedded":
            return (
                "`hookline serve --workers 0`, one worker inside serve"
                f" ({conc} in flight, {cap} per webhook)"
            )
        if self.args.workers:
            return (
                f"`hookline serve --workers {self.args.workers}`: {self.args.workers} worker"
                f" process(es) ({conc} in flight each, {cap} per webhook)"
            )
        return (
            f"`hookline serve` as users run it: {os.cpu_count() or 1} worker processes, one"
            f" per core ({conc} in flight each, {cap} per webhook)"
        )

    async def run(
        self, name: str, label: str, *, profile_dir: Path | None = None, phases: set[str]
    ) -> tuple[BackendResult, harness.Backend]:
        """``phases`` on a fresh ``name`` database; profiled when ``profile_dir`` is set."""
        args = self.args
        backend = harness.Backend(name, self.workdir)
        result = BackendResult(
            name=name, topology=self.topology(), steady_rate=args.rate, probe_rate=args.probe_rate
        )
        logdir = self.workdir / f"logs-{name}-{label}"
        logdir.mkdir(parents=True, exist_ok=True)
        env = self.env(backend.prepare(label))
        if profile_dir is not None:
            env["BENCH_PROFILER"] = args.profiler
        hookline = harness.Hookline(
            env, logdir, topology=args.topology, workers=args.workers, profile_dir=profile_dir
        )
        console.log(f"[bold]{name}[/bold] ({label}): starting {result.topology}")
        hookline.start()
        try:
            await self._phases(backend, hookline, result, phases, profiled=profile_dir is not None)
            result.peak_rss_kib = hookline.peak_rss()
        except Exception as exc:  # any failure is reported in the result, the run goes on
            result.errors.append(f"{type(exc).__name__}: {exc}")
            console.log(f"[red]{name}: {exc}[/red]")
        finally:
            console.log(f"{name}: stopping hookline")
            hookline.stop()
            _note_exits(hookline, result)
        _read_figures(backend, result, phases)
        return result, backend

    async def _phases(
        self,
        backend: harness.Backend,
        hookline: harness.Hookline,
        result: BackendResult,
        phases: set[str],
        *,
        profiled: bool,
    ) -> None:
        args = self.args
        burst_events = args.profile_events if profiled else args.events
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:
            tenant = await load.provision(
                session, hookline.base_url, OPERATOR_TOKEN, self.receiver.base_url
            )
            stage = Stage(
                args, self.receiver, self.data, session, backend, hookline, tenant, result
            )
            if "burst" in phases:
                await burst.burst(stage, burst_events)
            offset = burst_events
            if "steady" in phases and not result.errors:
                await asyncio.sleep(PAUSE_BETWEEN_PHASES)
                seconds = args.profile_steady_seconds if profiled else args.steady_seconds
                await steady.steady(stage, seconds=seconds, offset=offset)
                offset += int(args.rate * seconds)
            if "probe" in phases and args.probe_seconds > 0 and not result.errors:
                await asyncio.sleep(PAUSE_BETWEEN_PHASES)
                await probe.probe(stage, offset=offset)


def _note_exits(hookline: harness.Hookline, result: BackendResult) -> None:
    for proc in hookline.processes():
        # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly
        if proc.proc.returncode not in (0, None, -signal.SIGTERM):
            result.errors.append(
                f"{proc.name} exited {proc.proc.returncode}; log tail:\n{proc.tail(8)}"
            )


def _read_figures(backend: harness.Backend, result: BackendResult, phases: set[str]) -> None:
    """The figures from hookline's own timestamps, once it has stopped."""
    conn = backend.connect()
    try:
        if "burst" in phases:
            result.throughput = metrics.throughput(conn, burst.PREFIX)
        if "steady" in phases:
            result.latency = metrics.latency(conn, steady.PREFIX)
            seconds = " ".join(f"{v:.0f}" for v in result.latency.seconds_p99())
            console.log(f"{result.name}: steady phase, p99 ms of each second: {seconds}")
        if result.probe is not None:
            result.probe_latency = metrics.latency(conn, probe.PREFIX)
    finally:
        conn.close()
