"""Results, targets, the profile summary, and the two renderings: a Rich table, Markdown."""

from __future__ import annotations

import json
import marshal
import pstats
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load import PublishResult
from bench.metrics import Latency, Throughput

MIN_SQLITE_RATE = 5000.0
MIN_CEILING_RATIO = 0.5
MAX_P99_MS = 50.0
MAX_RSS_MIB = 200.0


@dataclass
class Ceiling:
    rate: float
    requests: int
    seconds: float
    concurrency: int
    loop: str
    peak_rss_kib: int | None
    failures: int = 0
    runs: list[float] = field(default_factory=list)  # every run's rate; this is the best


@dataclass
class BackendResult:
    name: str
    topology: str
    burst: PublishResult | None = None
    throughput: Throughput | None = None
    steady: PublishResult | None = None
    latency: Latency | None = None
    probe: PublishResult | None = None
    probe_latency: Latency | None = None
    steady_rate: float = 0.0  # offered events/s of the steady phase
    probe_rate: float = 0.0
    peak_rss_kib: dict[str, int | None] = field(default_factory=dict)
    cpu_burst: dict[str, float] = field(default_factory=dict)
    cpu_steady: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profiles: list[ProfileSummary] = field(default_factory=list)
    profile_note: str = ""


@dataclass(frozen=True)
class Target:
    name: str
    threshold: str
    figure: str
    passed: bool | None  # None: not measured
    kind: str  # "throughput" | "latency" | "memory"


def evaluate(result: BackendResult, ceiling: Ceiling | None) -> list[Target]:
    targets: list[Target] = []
    rate = result.throughput.end_to_end_rate if result.throughput else None
    if result.name == "sqlite":
        targets.append(
            Target(
                "deliveries/s end to end",
                f">= {MIN_SQLITE_RATE:,.0f}",
                f"{rate:,.0f}" if rate is not None else "not measured",
                None if rate is None else rate >= MIN_SQLITE_RATE,
                "throughput",
            )
        )
    if ceiling is not None and ceiling.rate > 0:
        ratio = rate / ceiling.rate if rate is not None else None
        targets.append(
            Target(
                "hookline / raw ceiling",
                f">= {MIN_CEILING_RATIO:.2f}",
                f"{ratio:.2f} ({rate:,.0f} / {ceiling.rate:,.0f})"
                if ratio is not None and rate is not None
                else "not measured",
                None if ratio is None else ratio >= MIN_CEILING_RATIO,
                "throughput",
            )
        )
    p99 = result.latency.first(99) if result.latency else None
    targets.append(
        Target(
            f"p99 ingest -> first attempt at {result.steady_rate or 1000:,.0f} events/s",
            f"<= {MAX_P99_MS:.0f} ms",
            f"{p99:.1f} ms" if p99 is not None else "not measured",
            None if p99 is None else p99 <= MAX_P99_MS,
            "latency",
        )
    )
    rss = [v for v in result.peak_rss_kib.values() if v is not None]
    worst = max(rss) / 1024 if rss else None
    targets.append(
        Target(
            "peak RSS per hookline process",
            f"<= {MAX_RSS_MIB:.0f} MB",
            f"{worst:.0f} MB (largest)" if worst is not None else "not measured",
            None if worst is None else worst <= MAX_RSS_MIB,
            "memory",
        )
    )
    return targets


def verdict(passed: bool | None) -> str:
    return "n/a" if passed is None else ("PASS" if passed else "MISS")


# -- the profile --------------------------------------------------------------------

# cProfile only: functions in which a thread waits rather than works.
WAITS = {
    "<method 'acquire' of '_thread.lock' objects>": "waiting on a lock",
    "<method 'get' of '_queue.SimpleQueue' objects>": "waiting on a queue (idle pool thread)",
    "<method 'poll' of 'select.epoll' objects>": "event loop polling (idle)",
    "<built-in method time.sleep>": "sleeping",
}
# uvloop's loop is C code that cProfile does not see into: its polling (idle) and
# socket I/O show up as the own time of the function that started it.
LOOP_RUNNERS = ("asyncio/runners.py", "uvloop/__init__.py")


@dataclass
class ProfileRow:
    function: str
    calls: int | None  # cProfile counts calls; the sampler does not
    own_s: float
    cumulative_s: float


@dataclass
class ThreadGroup:
    name: str
    threads: int
    busy_s: float  # sampler: CPU seconds; cProfile: wall seconds outside known waits
    waiting_s: float | None


@dataclass
class ProfileSummary:
    process: str
    scenario: str
    profiler: str  # "sampler" | "cprofile"
    groups: list[ThreadGroup]
    waits: list[tuple[str, float]]
    by_own: list[ProfileRow]
    by_cumulative: list[ProfileRow]
    hookline: list[ProfileRow] = field(default_factory=list)  # hookline's own, cumulative
    note: str = ""


def _short(filename: str) -> str:
    if "/hookline/" in filename and "site-packages" not in filename:
        return "hookline/" + filename.rsplit("/hookline/", 1)[1]
    for marker in ("/site-packages/", "/lib/python3."):
        if marker in filename:
            rest = filename.split(marker, 1)[1]
            return rest.split("/", 1)[1] if marker == "/lib/python3." else rest
    return filename


def _label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    short = _short(filename)
    label = f"{short}:{line}({name})"
    if filename.endswith("asyncio/runners.py") and name == "run":
        label += " [inside: uvloop's C code - socket I/O, polling, callbacks]"
    elif (short, name) in _BLOCKING:
        label += " [blocks here; own time = CPU used just before, see note]"
    return label


# Where a thread blocks (GIL released, no CPU): a sampler that finds a thread here
# charges it the CPU it used since the previous sample, i.e. on the way in.
_BLOCKING = {
    ("psycopg/connection.py", "wait"),
    ("threading.py", "wait"),
    ("queue.py", "get"),
    ("concurrent/futures/thread.py", "_worker"),
}


def _group_name(thread: str) -> str:
    if thread == "MainThread":
        return "event loop (main thread)"
    if thread.startswith(("AnyIO worker thread", "AnyIO_worker_thread")):
        return "API threadpool (ingest, sync routes)"
    if thread.startswith("hookline-db"):
        return "worker's database thread"
    return thread.rstrip("_0123456789") or thread


# Frames every thread starts in: they explain nothing in a cumulative list.
_BORING = (
    "<frozen runpy>",
    "uvicorn/_compat.py",
    "anyio/_backends/_asyncio.py",
    "anyio/to_thread.py",
    "starlette/concurrency.py",
    "threading.py",
    "concurrent/futures/thread.py",
    "runpy.py",
    "asyncio/runners.py",
    "asyncio/events.py",
    "asyncio/base_events.py",
    "bench/profiled.py",
    "uvloop/__init__.py",
    "click/core.py",
    "typer/",
    "uvicorn/main.py",
    "uvicorn/server.py",
    "hookline/cli.py",
    "hookline/__main__.py",
)


def _boring(label: str) -> bool:
    return label.startswith("<module>") or any(b in label for b in _BORING)


def _by_cumulative(rows: list[ProfileRow], top: int) -> tuple[list[ProfileRow], list[ProfileRow]]:
    """The top rows by cumulative time, less the frames every thread starts in: all of
    them, and hookline's own."""
    telling = sorted(
        (r for r in rows if not _boring(r.function)), key=lambda r: r.cumulative_s, reverse=True
    )
    return telling[:top], [r for r in telling if r.function.startswith("hookline/")][:top]


def _sampler_summary(path: Path, process: str, scenario: str, top: int) -> ProfileSummary:
    data = json.loads(path.read_text())
    groups: dict[str, ThreadGroup] = {}
    for thread, seconds in data["threads"].items():
        name = _group_name(thread.rsplit("#", 1)[0])
        group = groups.setdefault(name, ThreadGroup(name, 0, 0.0, None))
        group.threads += 1
        group.busy_s += seconds
    cum = {(f, line, n): s for f, line, n, s in data["cumulative"]}
    own = {(f, line, n): s for f, line, n, s in data["own"]}
    by_own = [
        ProfileRow(_label(k), None, s, cum.get(k, s))
        for k, s in sorted(own.items(), key=lambda kv: kv[1], reverse=True)[:top]
    ]
    rows = [ProfileRow(_label(k), None, own.get(k, 0.0), s) for k, s in cum.items()]
    by_cum, mine = _by_cumulative(rows, top)
    sampled = sum(data["threads"].values())
    note = (
        f"{data['samples']:,} samples over {data['wall_s']:.0f} s; the process used"
        f" {data['process_cpu_s']:.1f} CPU s in all, {sampled:.1f} of them sampled, the"
        f" sampler itself {data['sampler_cpu_s']:.1f}."
    )
    return ProfileSummary(
        process=process,
        scenario=scenario,
        profiler="sampler",
        groups=sorted(groups.values(), key=lambda g: g.busy_s, reverse=True),
        waits=[],
        by_own=by_own,
        by_cumulative=by_cum,
        hookline=mine,
        note=note,
    )


def _cprofile_summary(files: list[Path], process: str, scenario: str, top: int) -> ProfileSummary:
    merged: pstats.Stats | None = None
    groups: dict[str, ThreadGroup] = {}
    for path in files:
        with path.open("rb") as fh:
            raw: dict[Any, Any] = marshal.load(fh)  # noqa: S302 - our own file
        thread = path.stem.split("-", 1)[1]
        total = sum(v[2] for v in raw.values())
        waiting = sum(
            v[2] for k, v in raw.items() if k[2] in WAITS or any(r in k[0] for r in LOOP_RUNNERS)
        )
        name = _group_name(thread)
        group = groups.setdefault(name, ThreadGroup(name, 0, 0.0, 0.0))
        group.threads += 1
        group.busy_s += total - waiting
        group.waiting_s = (group.waiting_s or 0.0) + waiting
        stats = pstats.Stats(str(path))
        if merged is None:
            merged = stats
        else:
            merged.add(stats)
    assert merged is not None
    table: dict[Any, Any] = merged.stats  # type: ignore[attr-defined]
    waits: dict[str, float] = {}
    rows = []
    for func, (_cc, nc, tt, ct, _callers) in table.items():
        if func[2] in WAITS:
            waits[WAITS[func[2]]] = waits.get(WAITS[func[2]], 0.0) + tt
            continue
        if any(r in func[0] for r in LOOP_RUNNERS):
            what = "uvloop's C code: polling (idle) and socket I/O"
            waits[what] = waits.get(what, 0.0) + tt
            continue
        rows.append(ProfileRow(_label(func), nc, tt, ct))
    by_own = sorted(rows, key=lambda r: r.own_s, reverse=True)[:top]
    by_cum, mine = _by_cumulative(rows, top)
    return ProfileSummary(
        process=process,
        scenario=scenario,
        profiler="cprofile",
        hookline=mine,
        groups=sorted(groups.values(), key=lambda g: g.busy_s, reverse=True),
        waits=sorted(waits.items(), key=lambda kv: kv[1], reverse=True),
        by_own=by_own,
        by_cumulative=by_cum,
    )


def profile_summary(directory: Path, process: str, scenario: str, top: int = 15) -> ProfileSummary:
    sampler = directory / "sampler.json"
    if sampler.exists():
        return _sampler_summary(sampler, process, scenario, top)
    files = sorted(directory.glob("*.prof"))
    if not files:
        raise FileNotFoundError(f"no profile in {directory}")
    return _cprofile_summary(files, process, scenario, top)


# -- formatting helpers -----------------------------------------------------------


def _mib(kib: int | None) -> str:
    return "?" if kib is None else f"{kib / 1024:.0f} MB"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def headline_rows(result: BackendResult, ceiling: Ceiling | None) -> list[tuple[str, str]]:
    """(measure, figure) pairs: the per-backend table of the report and the console."""
    rows: list[tuple[str, str]] = [("topology", result.topology)]
    t = result.throughput
    if t is not None:
        rows.append(
            (
                "sustained deliveries/s, end to end",
                f"{t.end_to_end_rate:,.0f}  ({t.delivered:,} delivered in"
                f" {t.end_to_end_seconds:.1f} s, first ingest to last delivered)",
            )
        )
        rows.append(
            ("deliveries/s, steady part (10th-90th pct of completions)", f"{t.steady_rate:,.0f}")
        )
        if ceiling is not None and ceiling.rate > 0:
            rows.append(("hookline / raw ceiling", f"{t.end_to_end_rate / ceiling.rate:.2f}"))
    if result.burst is not None:
        b = result.burst
        median = sorted(b.request_ms)[len(b.request_ms) // 2] if b.request_ms else 0.0
        rows.append(
            (
                "ingest events/s",
                f"{b.rate:,.0f}  ({b.accepted:,} events in {b.seconds:.1f} s,"
                f" {b.requests} batch requests, median {median:,.0f} ms each)",
            )
        )
    if t is not None:
        others = {k: v for k, v in t.states.items() if k != "delivered"}
        extra = f", not delivered: {others}" if others else ""
        rows.append(("deliveries / attempts", f"{t.deliveries:,} / {t.attempts:,}{extra}"))
    lat = result.latency
    if lat is not None:
        offered = f"{result.steady_rate:,.0f}" if result.steady_rate else "?"
        rows.append(
            (
                f"ingest -> first attempt at {offered} events/s",
                f"p50 {_ms(lat.first(50))}, p99 {_ms(lat.first(99))}, max {_ms(lat.first(100))}"
                f"  ({len(lat.first_attempt_ms):,} deliveries of {lat.events:,} events;"
                f" hookline took them in at {lat.ingest_rate:,.0f} events/s)",
            )
        )
        rows.append(
            (
                "ingest -> delivered (result written)",
                f"p50 {_ms(lat.done(50))}, p99 {_ms(lat.done(99))}",
            )
        )
        rows.append(
            (
                "deliveries/s during that phase",
                f"{lat.delivery_rate:,.0f} (first ingest to last delivered; keeping up needs"
                f" {3 * lat.ingest_rate:,.0f})",
            )
        )
        if lat.never_attempted:
            rows.append(("never attempted", str(lat.never_attempted)))
    probe = result.probe_latency
    if probe is not None:
        offered = f"{result.probe_rate:,.0f}" if result.probe_rate else "?"
        rows.append(
            (
                f"ingest -> first attempt at {offered} events/s (no target: the floor)",
                f"p50 {_ms(probe.first(50))}, p99 {_ms(probe.first(99))},"
                f" max {_ms(probe.first(100))}  ({len(probe.first_attempt_ms):,} deliveries)",
            )
        )
    for name, kib in result.peak_rss_kib.items():
        rows.append((f"peak RSS, hookline {name}", _mib(kib)))
    return rows


def cpu_line(usage: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0f}%" for k, v in usage.items())


# -- Markdown -----------------------------------------------------------------------


def _md_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    def clean(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(clean(c) for c in row) + " |" for row in rows]
    return lines


def profile_markdown(summary: ProfileSummary) -> list[str]:
    if summary.profiler == "sampler":
        out = [
            f"Profile of `{summary.process}` ({summary.scenario}), by bench/profiled.py's"
            " CPU-time sampler: each thread's CPU time is charged to the Python stack it was"
            " running. *Own* = CPU while the function was the innermost Python frame,"
            " including the C code it called (SQLite, HMAC, socket writes); *cumulative* ="
            " CPU while it was anywhere on the stack. Waiting (locks, GIL, network) costs no"
            " CPU and does not appear, but a thread found blocked is charged, at the blocking"
            " call, the CPU it used since the previous sample (5 ms): read those rows as"
            " CPU spent on the way to that call; cumulative figures are not affected. "
            + summary.note,
            "",
            "CPU per thread:",
            "",
        ]
        out += _md_table(
            ("thread", "threads", "CPU s"),
            [(g.name, str(g.threads), f"{g.busy_s:.1f}") for g in summary.groups],
        )
    else:
        out = [
            f"Profile of `{summary.process}` ({summary.scenario}); cProfile in every thread,"
            " wall-clock seconds (slower than the measured run: the figures are shares).",
            "",
            "Time per thread (busy = profiled minus waiting):",
            "",
        ]
        out += _md_table(
            ("thread", "threads", "busy s", "waiting s"),
            [
                (g.name, str(g.threads), f"{g.busy_s:.1f}", f"{g.waiting_s or 0.0:.1f}")
                for g in summary.groups
            ],
        )
        if summary.waits:
            out += ["", "Waiting: " + "; ".join(f"{w} {s:.1f} s" for w, s in summary.waits) + "."]

    calls = summary.profiler == "cprofile"  # only cProfile counts calls
    out += _function_table("Top functions by own time", summary.by_own, calls, own_first=True)
    out += _function_table("Top functions by cumulative time", summary.by_cumulative, calls)
    if summary.hookline:
        out += _function_table(
            "hookline's own functions by cumulative time", summary.hookline, calls
        )
    return out


def _function_table(
    title: str, rows: list[ProfileRow], calls: bool, *, own_first: bool = False
) -> list[str]:
    """Own and cumulative seconds (the one sorted by first), calls, function."""
    figures = ("own s", "cumulative s") if own_first else ("cumulative s", "own s")
    body = []
    for r in rows:
        own, cumulative = f"{r.own_s:.2f}", f"{r.cumulative_s:.2f}"
        count = ("" if r.calls is None else f"{r.calls:,}",) if calls else ()
        seconds = (own, cumulative) if own_first else (cumulative, own)
        body.append((*seconds, *count, f"`{r.function}`"))
    header = (*figures, *(("calls",) if calls else ()), "function")
    return ["", f"{title}:", "", *_md_table(header, body)]


def markdown(
    *,
    facts: list[tuple[str, str]],
    command: str,
    method: list[str],
    ceiling: Ceiling | None,
    results: list[BackendResult],
    notes: list[str],
) -> str:
    out = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`bench/run.py`); rerun it to refresh this page. A"
        " benchmark, not a test: `make test` never runs it. Figures are from one run on the"
        " machine below and move by several percent between runs.",
        "",
    ]
    out += ["## Summary", ""]
    steady = results[0].steady_rate if results else 1000.0
    evaluated = [(result, evaluate(result, ceiling)) for result in results]
    summary_rows = []
    for result, targets in evaluated:
        t, lat = result.throughput, result.latency
        rss = [v for v in result.peak_rss_kib.values() if v is not None]
        ratio = (
            f"{t.end_to_end_rate / ceiling.rate:.2f}"
            if t is not None and ceiling is not None and ceiling.rate > 0
            else "n/a"
        )
        verdicts = [verdict(x.passed) for x in targets]
        summary_rows.append(
            (
                result.name,
                f"{t.end_to_end_rate:,.0f}" if t else "n/a",
                ratio,
                f"{result.burst.rate:,.0f}" if result.burst else "n/a",
                f"{_ms(lat.first(50))} / {_ms(lat.first(99))}" if lat else "n/a",
                f"{max(rss) / 1024:.0f} MB" if rss else "n/a",
                f"{verdicts.count('PASS')} pass, {verdicts.count('MISS')} miss",
            )
        )
    out += _md_table(
        (
            "backend",
            "deliveries/s end to end",
            "/ raw ceiling",
            "ingest events/s",
            f"ingest -> first attempt p50 / p99 at {steady:,.0f} events/s",
            "peak RSS (largest process)",
            "targets",
        ),
        summary_rows,
    )
    if ceiling is not None:
        out += ["", f"Raw ceiling: {ceiling.rate:,.0f} requests/s."]
    out += ["", "## Machine and run", ""]
    out += _md_table(("", ""), [(k, v) for k, v in facts])
    out += ["", "Command:", "", "```sh", command, "```", "", "## Method", ""]
    out += [f"- {line}" for line in method]
    out += ["", "## Raw ceiling", ""]
    if ceiling is None:
        out.append("Not measured.")
    else:
        out.append(
            f"A bare aiohttp loop ({ceiling.loop}, {ceiling.concurrency} requests in flight,"
            " one process) signing each request with `hookline.domain.wire.delivery_headers`"
            f" and POSTing the same body to the same receiver: **{ceiling.rate:,.0f}"
            f" requests/s** ({ceiling.requests:,} in {ceiling.seconds:.1f} s,"
            f" {ceiling.failures} failures, peak RSS {_mib(ceiling.peak_rss_kib)})."
        )
        if len(ceiling.runs) > 1:
            out += [
                "",
                "Measured before and after the backends: "
                + ", ".join(f"{r:,.0f}" for r in ceiling.runs)
                + " requests/s; the higher one is the ceiling.",
            ]
    for note in notes:
        out += ["", f"**Note:** {note}"]
    out += ["", "## Results", ""]
    for result, targets in evaluated:
        out += [f"### {result.name}", ""]
        out += _md_table(("measure", "figure"), headline_rows(result, ceiling))
        if result.cpu_burst:
            out += [
                "",
                "CPU while draining the burst (percent of one core; the machine has"
                f" {dict(facts).get('cores', '?')}): {cpu_line(result.cpu_burst)}.",
            ]
        if result.cpu_steady:
            out += ["", f"CPU at 1,000 events/s: {cpu_line(result.cpu_steady)}."]
        for error in result.errors:
            out += ["", f"**Error:** {error}"]
        for note in result.notes:
            out += ["", f"**Note:** {note}"]
        out += ["", "Targets:", ""]
        out += _md_table(
            ("target", "threshold", "measured", "result"),
            [(t.name, t.threshold, t.figure, verdict(t.passed)) for t in targets],
        )
        out.append("")
    out += ["## Targets", ""]
    out += _md_table(
        ("backend", "target", "threshold", "measured", "result"),
        [
            (result.name, t.name, t.threshold, t.figure, verdict(t.passed))
            for result, targets in evaluated
            for t in targets
        ],
    )
    misses = [r for r, targets in evaluated if any(t.passed is False for t in targets)]
    if misses:
        out += ["", "## Where the time goes (missed targets)", ""]
        for result in misses:
            out += [f"### {result.name}", ""]
            for profile in result.profiles:
                out += [*profile_markdown(profile), ""]
            if not result.profiles or result.profile_note:
                out.append(result.profile_note or "No profile was taken.")
            out.append("")
    return "\n".join(out).rstrip() + "\n"
