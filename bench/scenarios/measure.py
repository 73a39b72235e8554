"""One measured phase: wait for a quiet machine, publish, wait until all is delivered.

The phases differ only in how they publish; how long they wait, what they count as
delivered and whose CPU they measure is the same, and lives here once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn

from bench import harness, load, metrics
from bench.log import console
from bench.scenarios.stage import Stage

QUIET_PERCENT = 10.0  # of the whole machine: about a fifth of a core on 2 cores
BUSY_OTHERS = 20.0  # percent of one core used by others during a phase worth a note
NO_PROGRESS_SECONDS = 30

Publish = Callable[[Callable[[int], None]], Awaitable[load.PublishResult]]


async def wait_quiet(args: argparse.Namespace, what: str, notes: list[str] | None) -> None:
    """Other work on this 2-core machine skews every figure: wait for it to pass."""
    deadline = time.monotonic() + args.quiet_wait
    next_log = time.monotonic()
    while True:
        busy = await harness.machine_busy_percent(1.0)
        if busy <= QUIET_PERCENT:
            return
        if time.monotonic() > deadline:
            message = (
                f"the machine was {busy:.0f}% busy with other work when {what} started"
                f" (waited {args.quiet_wait:.0f} s for it to go quiet)"
            )
            console.log(f"[yellow]{message}[/yellow]")
            if notes is not None:
                notes.append(message)
            return
        if time.monotonic() >= next_log:
            console.log(
                f"machine {busy:.0f}% busy with other processes; waiting up to"
                f" {deadline - time.monotonic():.0f} s for quiet before {what}"
            )
            next_log = time.monotonic() + 10


async def measured_phase(
    stage: Stage, *, phase: str, label: str, count: int, publish: Publish
) -> tuple[load.PublishResult, dict[str, float], str | None]:
    """Once the machine is quiet, ``publish`` ``count`` events (it is handed a progress
    callback) and wait until they are all delivered: what was published, the CPU used
    meanwhile, and what went wrong with the deliveries, if anything."""
    backend, result = stage.backend, stage.result
    expected = count * len(stage.tenant.webhook_ids)
    await wait_quiet(stage.args, f"the {backend.name} {phase}", result.notes)
    baseline = stage.receiver.requests()
    groups = _cpu_groups(stage)
    before = harness.cpu_snapshot(groups)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        pub = progress.add_task(f"{backend.name}: {label}", total=count)
        dlv = progress.add_task(f"{backend.name}: delivered", total=expected)
        watcher = asyncio.create_task(_wait_delivered(stage, expected, baseline, progress, dlv))
        published = await publish(lambda n: progress.advance(pub, n))
        problem = await watcher
    usage = harness.cpu_usage(before, harness.cpu_snapshot(groups))
    _note_contention(phase, usage, result.notes)
    return published, usage, problem


async def _wait_delivered(
    stage: Stage, expected: int, baseline: int, progress: Progress, task: TaskID
) -> str | None:
    """Until the receiver has seen ``expected`` more requests and the queue is empty."""
    deadline = time.monotonic() + stage.args.drain_timeout
    last, last_change = -1, time.monotonic()
    while True:
        seen = await asyncio.to_thread(stage.receiver.requests) - baseline
        progress.update(task, completed=min(seen, expected))
        if seen != last:
            last, last_change = seen, time.monotonic()
        if seen >= expected:
            break
        if time.monotonic() - last_change > NO_PROGRESS_SECONDS:
            return f"no delivery for 30 s at {seen:,} of {expected:,}"
        if time.monotonic() > deadline:
            timeout = stage.args.drain_timeout
            return f"drain timeout ({timeout:.0f} s) at {seen:,} of {expected:,}"
        await asyncio.sleep(0.25)
    return await _wait_results_written(stage.backend)


async def _wait_results_written(backend: harness.Backend) -> str | None:
    """The receiver has them all; wait for hookline to write the last results."""

    def left_to_do() -> int:
        conn = backend.connect()
        try:
            return metrics.unfinished(conn)
        finally:
            conn.close()

    for _ in range(200):
        left = await asyncio.to_thread(left_to_do)
        if left == 0:
            return None
        await asyncio.sleep(0.1)
    return f"{left} deliveries still unfinished after the receiver saw them all"


def _cpu_groups(stage: Stage) -> dict[str, harness.PidSource]:
    groups: dict[str, harness.PidSource] = {
        f"hookline {k}": v for k, v in stage.hookline.pid_groups().items()
    }
    groups["receiver"] = stage.receiver.pids()
    if stage.backend.name == "postgresql":
        groups["postgres (all)"] = stage.backend.server_pids  # backends come and go
    groups["bench client"] = [os.getpid()]
    return groups


def _note_contention(phase: str, usage: dict[str, float], notes: list[str]) -> None:
    others = usage.get("other processes", 0.0)
    if others > BUSY_OTHERS:
        notes.append(
            f"other processes on the machine used {others:.0f}% of a core during the"
            f" {phase}: its figures are lower than on an otherwise idle machine"
        )
