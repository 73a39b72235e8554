"""The burst: many events as fast as ingest takes them, then until all are delivered.

It measures the two throughput figures: ingest events/s (client side) and sustained
deliveries/s end to end (from hookline's own timestamps, read afterwards).
"""

from __future__ import annotations

from bench import load
from bench.log import console
from bench.results import cpu_line
from bench.scenarios.measure import measured_phase
from bench.scenarios.stage import INGEST_TOKEN, Stage

PREFIX = "tp-"  # producer ids of the burst's events: what metrics.throughput reads


async def burst(stage: Stage, events: int) -> None:
    """Publish the first ``events`` of the run's data in ``--batch`` batches."""
    args, result, hookline = stage.args, stage.result, stage.hookline
    batches = load.encode_batches(stage.data[:events], stage.tenant.platform_id, PREFIX, args.batch)
    result.burst, result.cpu_burst, problem = await measured_phase(
        stage,
        phase="burst",
        label="publish",
        count=events,
        publish=lambda on_progress: load.burst(
            stage.session,
            hookline.base_url,
            INGEST_TOKEN,
            batches,
            concurrency=args.publish_lanes,
            on_progress=on_progress,
        ),
    )
    if result.burst.rejected:
        result.errors.append(f"{result.burst.rejected} events rejected: {result.burst.errors[:2]}")
    if problem:
        result.errors.append(f"burst: {problem}")
    console.log(
        f"{stage.backend.name}: burst of {events:,} events ingested at"
        f" {result.burst.rate:,.0f} events/s; CPU {cpu_line(result.cpu_burst)}"
    )
