"""The profiling pass: a phase whose target was missed, again on a fresh database, with
hookline under bench/profiled.py; the summaries go into the backend's result."""

from __future__ import annotations

from bench import harness
from bench.log import console
from bench.profiles import profile_summary
from bench.results import BackendResult, Target
from bench.scenarios.backend import BackendRun

# Which phase shows where the time goes for a missed target of each kind.
PHASE_OF_KIND = {"throughput": "burst", "latency": "steady"}


async def profile_missed(
    run: BackendRun, result: BackendResult, targets: list[Target], cleanup: list[harness.Backend]
) -> None:
    """Profile the phases behind ``result``'s missed targets, or say why not."""
    missed = {t.kind for t in targets if t.passed is False}
    phases = {PHASE_OF_KIND[kind] for kind in missed if kind in PHASE_OF_KIND}
    if missed and not phases:
        result.profile_note = (
            "Only the memory target was missed; cProfile says nothing about memory,"
            " so no profile was taken."
        )
    if phases and run.args.no_profile:
        result.profile_note = "Not profiled (--no-profile)."
    elif phases:
        console.log(f"{result.name}: missed {', '.join(sorted(missed))}; profiling pass")
        await profile_pass(run, result, phases, cleanup)


async def profile_pass(
    run: BackendRun, result: BackendResult, phases: set[str], cleanup: list[harness.Backend]
) -> None:
    """The missed ``phases`` again on a fresh database, profiled; into ``result``."""
    args, name = run.args, result.name
    pdir = run.workdir / f"profile-{name}"
    presult, pbackend = await run.run(name, "profile", profile_dir=pdir, phases=phases)
    cleanup.append(pbackend)
    pbackend.cleanup()
    scenario = []
    if "burst" in phases:
        scenario.append(f"burst of {args.profile_events:,} events")
    if "steady" in phases:
        scenario.append(f"{args.rate:,.0f} events/s for {args.profile_steady_seconds:.0f} s")
    flags = {"split": " --no-worker", "embedded": " --workers 0", "serve": ""}
    processes = [("serve", "hookline serve" + flags[args.topology])]
    split = args.workers if args.topology == "split" else 0
    processes += [(f"worker-{n}", "hookline worker") for n in range(1, split + 1)]
    if args.topology == "serve":
        result.profile_note += (
            " Only the serve process was profiled: its worker processes are started by"
            " serve itself, not under the profiler (--topology split profiles workers)."
        )
    for folder, process in processes:
        try:
            result.profiles.append(
                profile_summary(
                    pdir / folder,
                    f"{process} ({folder})" if split else process,
                    " then ".join(scenario),
                )
            )
        except (FileNotFoundError, OSError) as exc:
            result.profile_note += f" The profiling pass left no profile: {exc}."
    if presult.errors:
        result.profile_note += " Profiling pass errors: " + "; ".join(presult.errors)
