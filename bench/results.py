"""What a run measured, the targets it is held to, and its figures as table rows.

The rows are shared by the two renderings (the console table and docs/benchmarks.md),
so the page and the terminal can never disagree about a figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.load import PublishResult
from bench.metrics import Latency, Throughput
from bench.profiles import ProfileSummary

MIN_SQLITE_RATE = 5000.0
MIN_CEILING_RATIO = {"sqlite": 0.6, "postgresql": 0.5}
"""Issue 12: end to end >= 0.6 x the raw ceiling on SQLite, 0.5 x on PostgreSQL (which
shares the cores with hookline)."""
MIN_INGEST_RATE = 5000.0
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


def _at_least(name: str, rate: float | None, least: float) -> Target:
    """A throughput target: ``rate`` (per second) of at least ``least``."""
    return Target(
        name,
        f">= {least:,.0f}",
        f"{rate:,.0f}" if rate is not None else "not measured",
        None if rate is None else rate >= least,
        "throughput",
    )


def evaluate(result: BackendResult, ceiling: Ceiling | None) -> list[Target]:
    targets: list[Target] = []
    rate = result.throughput.end_to_end_rate if result.throughput else None
    if result.name == "sqlite":
        targets.append(_at_least("deliveries/s end to end", rate, MIN_SQLITE_RATE))
    if ceiling is not None and ceiling.rate > 0:
        ratio = rate / ceiling.rate if rate is not None else None
        least = MIN_CEILING_RATIO[result.name]
        targets.append(
            Target(
                "hookline / raw ceiling",
                f">= {least:.2f}",
                f"{ratio:.2f} ({rate:,.0f} / {ceiling.rate:,.0f})"
                if ratio is not None and rate is not None
                else "not measured",
                None if ratio is None else ratio >= least,
                "throughput",
            )
        )
    ingest = result.burst.rate if result.burst else None
    targets.append(_at_least("ingest events/s", ingest, MIN_INGEST_RATE))
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


# -- figures as rows ----------------------------------------------------------------


def mib(kib: int | None) -> str:
    return "?" if kib is None else f"{kib / 1024:.0f} MB"


def ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def headline_rows(result: BackendResult, ceiling: Ceiling | None) -> list[tuple[str, str]]:
    """(measure, figure) pairs: the per-backend table of the report and the console."""
    rows: list[tuple[str, str]] = [("topology", result.topology)]
    rows += _throughput_rows(result, ceiling)
    if result.latency is not None:
        rows += _latency_rows(result.latency, result.steady_rate)
    probe = result.probe_latency
    if probe is not None:
        offered = f"{result.probe_rate:,.0f}" if result.probe_rate else "?"
        rows.append(
            (
                f"ingest -> first attempt at {offered} events/s (no target: the floor)",
                f"p50 {ms(probe.first(50))}, p99 {ms(probe.first(99))},"
                f" max {ms(probe.first(100))}  ({len(probe.first_attempt_ms):,} deliveries)",
            )
        )
    for name, kib in result.peak_rss_kib.items():
        rows.append((f"peak RSS, hookline {name}", mib(kib)))
    return rows


def _throughput_rows(result: BackendResult, ceiling: Ceiling | None) -> list[tuple[str, str]]:
    """The burst's rows: deliveries/s, the ceiling ratio, ingest rate, delivery counts."""
    rows: list[tuple[str, str]] = []
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
    return rows


def _latency_rows(lat: Latency, steady_rate: float) -> list[tuple[str, str]]:
    """The steady phase's rows: ingest -> first attempt and -> delivered, delivery rate."""
    offered = f"{steady_rate:,.0f}" if steady_rate else "?"
    rows = [
        (
            f"ingest -> first attempt at {offered} events/s",
            f"p50 {ms(lat.first(50))}, p99 {ms(lat.first(99))}, max {ms(lat.first(100))}"
            f"  ({len(lat.first_attempt_ms):,} deliveries of {lat.events:,} events;"
            f" hookline took them in at {lat.ingest_rate:,.0f} events/s)",
        ),
        ("ingest -> delivered (result written)", f"p50 {ms(lat.done(50))}, p99 {ms(lat.done(99))}"),
        ("p99 of each second of the phase", _seconds(lat.seconds_p99())),
        (
            "deliveries/s during that phase",
            f"{lat.delivery_rate:,.0f} (first ingest to last delivered; keeping up needs"
            f" {3 * lat.ingest_rate:,.0f})",
        ),
    ]
    if lat.never_attempted:
        rows.append(("never attempted", str(lat.never_attempted)))
    return rows


def _seconds(p99s: list[float]) -> str:
    """Best, median and worst second, and how many seconds were over the target."""
    if not p99s:
        return "-"
    ranked = sorted(p99s)
    over = sum(1 for v in p99s if v > MAX_P99_MS)
    return (
        f"best {ms(ranked[0])}, median {ms(ranked[len(ranked) // 2])}, worst {ms(ranked[-1])};"
        f" {over} of {len(p99s)} seconds over {MAX_P99_MS:.0f} ms"
    )


def cpu_line(usage: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0f}%" for k, v in usage.items())
