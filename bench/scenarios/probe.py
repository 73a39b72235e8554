"""The low-rate probe (no target): after the steady phase, ``--probe-rate`` events/s for
``--probe-seconds``, measured the same way: the latency when hookline is not saturated."""

from __future__ import annotations

from bench.scenarios.stage import Stage
from bench.scenarios.steady import paced

PREFIX = "probe-"


async def probe(stage: Stage, *, offset: int) -> None:
    """The probe's events start at ``offset`` of the run's data, after the steady phase's."""
    args = stage.args
    stage.result.probe, _ = await paced(
        stage,
        rate=args.probe_rate,
        seconds=args.probe_seconds,
        offset=offset,
        prefix=PREFIX,
        phase="low-rate probe",
    )
