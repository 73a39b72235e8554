"""The profiling pass's files (sampler JSON or cProfile dumps), summed up per process."""

from __future__ import annotations

import json
import marshal
import pstats
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
