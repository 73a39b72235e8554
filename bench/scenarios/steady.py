"""The steady phase: ``--rate`` events/s on a fixed schedule (open loop), right after the
burst on the same database; it measures ingest -> first attempt per delivery.

:func:`paced` is also the low-rate probe's engine (``bench.scenarios.probe``).
"""

from __future__ import annotations

from bench import load
from bench.scenarios.measure import measured_phase
from bench.scenarios.stage import INGEST_TOKEN, Stage

PREFIX = "lat-"  # producer ids of the steady phase's events: what metrics.latency reads
LATE_MS_WORTH_A_NOTE = 100


async def steady(stage: Stage, *, seconds: float, offset: int) -> None:
    """``--rate`` events/s for ``seconds``, from event ``offset`` of the run's data."""
    result = stage.result
    result.steady, result.cpu_steady = await paced(
        stage,
        rate=stage.args.rate,
        seconds=seconds,
        offset=offset,
        prefix=PREFIX,
        phase="steady phase",
    )


async def paced(
    stage: Stage, *, rate: float, seconds: float, offset: int, prefix: str, phase: str
) -> tuple[load.PublishResult, dict[str, float]]:
    """``rate`` events/s for ``seconds`` (open loop), then until all are delivered."""
    result = stage.result
    count = int(rate * seconds)
    per_batch = max(1, round(rate * stage.args.steady_interval))
    interval = per_batch / rate
    data = stage.data[offset : offset + count]
    batches = load.encode_batches(data, stage.tenant.platform_id, prefix, per_batch)
    published, usage, problem = await measured_phase(
        stage,
        phase=phase,
        label=f"{rate:,.0f} events/s ({per_batch} per {interval * 1000:.0f} ms)",
        count=count,
        publish=lambda on_progress: load.steady(
            stage.session,
            stage.hookline.base_url,
            INGEST_TOKEN,
            batches,
            interval=interval,
            on_progress=on_progress,
        ),
    )
    if problem:
        result.errors.append(f"{phase}: {problem}")
    if published.late_ms_max > LATE_MS_WORTH_A_NOTE:
        result.notes.append(
            f"{phase}: the load generator was up to {published.late_ms_max:.0f} ms late"
            " sending a batch"
        )
    return published, usage
