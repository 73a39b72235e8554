"""``make bench``: hookline end to end on SQLite and PostgreSQL, against a raw ceiling.

    python -m bench.run [--events 50000] [--backends sqlite,postgresql] [--quick]

1. A receiver on 127.0.0.1 (Debian's nginx when installed, else bench/receiver.py).
2. The raw ceiling: bench/ceiling.py signs and POSTs the same body to it for a while.
3. Per backend, on a fresh database: hookline in one ``--topology`` (by default plain
   ``hookline serve`` as users run it, with its worker process per core; ``split``:
   ``serve --no-worker`` plus ``--workers N`` ``hookline worker``), one platform with zone 1 and
   three webhooks of ``receipt.receipt_validated`` pointing at the receiver; then
   a. the burst: ``--events`` events in batches of ``--batch`` (``--publish-lanes``
      requests in flight), until every delivery is delivered: ingest events/s and
      sustained deliveries/s end to end;
   b. the steady phase: 1,000 events/s for ``--steady-seconds`` (open loop): latency
      from ingest to the first attempt, per delivery, p50 and p99;
   c. peak RSS (VmHWM) of every hookline process.
4. For a backend that missed a target, a profiling pass: the same scenario again, on a
   fresh database, with every thread of hookline under cProfile.
5. A table on the console and docs/benchmarks.md.

Each phase is a module of ``bench.scenarios``; ``bench.report`` writes the page.
Only 127.0.0.1 is ever contacted. Every process it starts, it stops; a PostgreSQL
database it creates, it drops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness, load, report
from bench.log import console
from bench.machine import cpu_model, git_head, memory_total, versions
from bench.options import parse_args
from bench.receiver import Receiver, nginx_available
from bench.results import BackendResult, Ceiling, evaluate
from bench.scenarios.backend import BackendRun
from bench.scenarios.backlog import run_backlog
from bench.scenarios.ceiling import measure_ceiling
from bench.scenarios.measure import wait_quiet
from bench.scenarios.profile import profile_missed


@dataclass
class Outcome:
    """What the whole run measured, filled in as it goes (a failure leaves it partial)."""

    results: list[BackendResult] = field(default_factory=list)
    ceiling: Ceiling | None = None
    notes: list[str] = field(default_factory=list)
    cleanup: list[harness.Backend] = field(default_factory=list)


def run_data(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every event of the run from one seed: burst, steady phase, probe, a few spare."""
    total = (
        args.events
        + int(args.rate * args.steady_seconds)
        + int(args.probe_rate * args.probe_seconds)
        + 10
    )
    console.log(f"making {total:,} events (fake_data, seed {args.seed})")
    return load.make_data(total, args.seed)


async def measure(
    args: argparse.Namespace, receiver: Receiver, workdir: Path, backends: list[str], out: Outcome
) -> None:
    """The ceiling, each backend (and its profiling pass), the ceiling again."""
    run = BackendRun(args, workdir, receiver, run_data(args))
    await wait_quiet(args, "the raw ceiling", out.notes)
    ceilings = [await asyncio.to_thread(measure_ceiling, args, receiver, workdir)]
    out.ceiling = ceilings[0]
    for name in backends:
        result, backend = await run.run(name, "run", phases={"burst", "steady", "probe"})
        out.cleanup.append(backend)
        backend.cleanup()
        out.results.append(result)
        await profile_missed(run, result, evaluate(result, out.ceiling), out.cleanup)
    # Once more at the end: the higher of the two is the ceiling (less disturbed).
    await wait_quiet(args, "the second raw ceiling", out.notes)
    ceilings.append(await asyncio.to_thread(measure_ceiling, args, receiver, workdir))
    out.ceiling = max(ceilings, key=lambda c: c.rate)
    out.ceiling.runs = [c.rate for c in ceilings]


def command_line(argv: list[str]) -> str:
    """The command to rerun this run, as the report shows it."""
    if os.environ.get("MAKELEVEL"):  # started by `make bench`
        return "make bench" + (f" BENCH_ARGS={shlex.quote(' '.join(argv))}" if argv else "")
    return ("python -m bench.run " + " ".join(shlex.quote(a) for a in argv)).strip()


@contextlib.contextmanager
def postgres_setup(backends: list[str]) -> Iterator[str]:
    """PostgreSQL as users deploy it for the run (``harness.postgres_as_deployed``)."""
    if "postgresql" not in backends:
        yield ""
        return
    with harness.postgres_as_deployed() as state:
        console.log(f"PostgreSQL: {state}")
        yield state


def available_backends(args: argparse.Namespace) -> list[str]:
    backends = list(args.backends)
    if "postgresql" in backends:
        why = harness.postgres_reachable()
        if why:
            console.log(f"[yellow]PostgreSQL unreachable, skipped: {why}[/yellow]")
            backends.remove("postgresql")
    return backends


def facts(
    args: argparse.Namespace,
    backends: list[str],
    receiver: Receiver,
    rss_text: str,
    started: datetime,
    load_before: tuple[float, float, float],
    postgres: str,
) -> list[tuple[str, str]]:
    """The report's "Machine and run" table."""
    rows = [
        ("date", started.strftime("%Y-%m-%d %H:%M UTC")),
        ("cores", str(os.cpu_count())),
        ("CPU", cpu_model()),
        ("memory", memory_total()),
        ("load average at start", " ".join(f"{v:.2f}" for v in load_before)),
        ("OS", platform.platform()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("libraries", versions()),
        ("hookline commit", git_head()),
        ("receiver", f"{receiver.kind} ({receiver.version}), peak RSS {rss_text}"),
    ]
    if "postgresql" in backends:
        with contextlib.suppress(Exception):
            rows.append(("PostgreSQL", f"{harness.postgres_version()}, {postgres}"))
    if len(backends) < len(args.backends):
        rows.append(("skipped", ", ".join(b for b in args.backends if b not in backends)))
    rows.append(("run took", f"{(datetime.now(UTC) - started).total_seconds() / 60:.1f} min"))
    return rows


async def amain(args: argparse.Namespace, argv: list[str]) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="hookline-bench-"))
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    if args.receiver == "nginx" and not nginx_available():
        console.print("[red]--receiver nginx: /usr/sbin/nginx is not installed[/red]")
        return 2
    receiver = Receiver(
        harness.free_port(), workdir, prefer_nginx=args.receiver in ("auto", "nginx")
    )
    if receiver.kind != "nginx":
        console.log(
            "nginx is not installed (apt-get install nginx-light); using the built-in receiver"
        )
    backends = available_backends(args)
    if args.backlog:
        with postgres_setup(backends):
            run_backlog(args, backends, workdir)
        shutil.rmtree(workdir, ignore_errors=True)
        return 0
    out = Outcome()
    postgres = ""
    try:
        receiver.start()
        console.log(f"receiver: {receiver.kind} {receiver.version} at {receiver.base_url}")
        with postgres_setup(backends) as postgres:
            await measure(args, receiver, workdir, backends, out)
    finally:
        receiver_rss = [harness.peak_rss_kib(p) for p in receiver.pids()]
        receiver.stop()
        for backend in out.cleanup:
            with contextlib.suppress(Exception):
                backend.cleanup()
    report.print_results(out.results, out.ceiling, console)
    rss_text = " + ".join(f"{(r or 0) / 1024:.0f} MB" for r in receiver_rss)
    console.print(f"receiver peak RSS: {rss_text}")
    text = report.markdown(
        facts=facts(args, backends, receiver, rss_text, started, load_before, postgres),
        command=command_line(argv),
        method=report.method_lines(args, receiver),
        ceiling=out.ceiling,
        results=out.results,
        notes=out.notes,
    )
    write(args, text, workdir)
    return 0 if all(not r.errors for r in out.results) else 1


BACKLOG_HEADING = "## Backlog and retention"


def kept_backlog_section(output: Path) -> str:
    """The page's backlog section, measured by ``--backlog`` apart: a full run keeps it."""
    try:
        old = output.read_text()
    except FileNotFoundError:
        return ""
    start = old.find(BACKLOG_HEADING)
    return "" if start < 0 else "\n" + old[start:]


def write(args: argparse.Namespace, text: str, workdir: Path) -> None:
    """The page to ``--output`` (unless ``--no-write``), and the temp dir away."""
    if args.no_write:
        console.log("not writing the report (--no-write or --quick)")
    else:
        output = args.output if args.output.is_absolute() else harness.ROOT / args.output
        output.write_text(text + kept_backlog_section(output))
        console.log(f"wrote {output}")
    if args.keep:
        console.log(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(amain(args, argv))
    return uvloop.run(amain(args, argv))


if __name__ == "__main__":
    sys.exit(main())
