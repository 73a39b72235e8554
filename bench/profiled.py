"""Run a ``hookline`` command under a profiler, for the profiling pass of a missed target.

``python -m bench.profiled OUTDIR serve --host ...`` works like ``python -m hookline
serve ...``; ``BENCH_PROFILER`` picks the profiler:

``sampler`` (default): a CPU-time sampling profiler. Every few milliseconds a thread of
its own reads each thread's CPU clock (``pthread_getcpuclockid``) and Python stack, and
charges the CPU time that thread used since the last look to that stack: to the
innermost Python function as *own* time (including the C code it called: a SQLite
query, an HMAC, a socket write) and to every function on the stack as *cumulative*.
Threads that wait (for a lock, the GIL, the network, a queue) use no CPU and so get no
time: on a CPU-bound run this answers "where does the CPU go" without cProfile's
per-call overhead or its wall-clock waits. Writes ``OUTDIR/sampler.json``.

``cprofile``: ``cProfile.Profile`` in the main thread and in every thread started after
it; wall-clock time, call counts. Writes ``OUTDIR/<n>-<thread>.prof`` (pstats format).

Either way the output is written when the command returns: SIGTERM makes uvicorn shut
down cleanly first.
"""

from __future__ import annotations

import cProfile
import json
import marshal
import os
import re
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

# -- cProfile in every thread ---------------------------------------------------------

_profiles: list[tuple[str, cProfile.Profile]] = []
_lock = threading.Lock()


def _start_in_thread(frame: FrameType, event: str, arg: Any) -> None:
    """The first profile event of a new thread: give it a profiler of its own."""
    profiler = cProfile.Profile()
    with _lock:
        _profiles.append((threading.current_thread().name, profiler))
    profiler.enable()  # replaces this hook for the rest of the thread


def _dump_cprofile(outdir: Path) -> None:
    with _lock:
        items = list(_profiles)
    for number, (name, profiler) in enumerate(items):
        profiler.snapshot_stats()  # no disable(): it would act on *this* thread only
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        with (outdir / f"{number:03d}-{safe}.prof").open("wb") as fh:
            marshal.dump(profiler.stats, fh)  # type: ignore[attr-defined]


# -- the CPU-time sampler -------------------------------------------------------------

Key = tuple[str, int, str]  # (file, first line, function)


class Sampler(threading.Thread):
    def __init__(self, interval: float = 0.005) -> None:
        super().__init__(name="bench-sampler", daemon=True)
        self.interval = interval
        self.halt = threading.Event()
        self.own: Counter[Key] = Counter()
        self.cumulative: Counter[Key] = Counter()
        self.per_thread: Counter[str] = Counter()
        self.samples = 0
        self.own_cpu_s = 0.0
        self.started_at = 0.0
        self.stopped_at = 0.0
        self._clocks: dict[int, int] = {}
        self._last: dict[int, int] = {}

    def _cpu_ns(self, ident: int) -> int | None:
        clock = self._clocks.get(ident)
        try:
            if clock is None:
                clock = self._clocks[ident] = time.pthread_getcpuclockid(ident)
            return time.clock_gettime_ns(clock)
        except (OSError, OverflowError):
            self._clocks.pop(ident, None)
            return None

    def run(self) -> None:
        self.started_at = time.monotonic()
        me = threading.get_ident()
        while not self.halt.wait(self.interval):
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                now = self._cpu_ns(ident)
                if now is None:
                    continue
                used = now - self._last.get(ident, now)
                self._last[ident] = now
                if used <= 0:
                    continue
                self.samples += 1
                self.per_thread[f"{names.get(ident, 'thread')}#{ident}"] += used
                seen: set[Key] = set()
                current: FrameType | None = frame
                first = True
                while current is not None:
                    code = current.f_code
                    key = (code.co_filename, code.co_firstlineno, code.co_name)
                    if first:
                        self.own[key] += used
                        first = False
                    if key not in seen:
                        seen.add(key)
                        self.cumulative[key] += used
                    current = current.f_back
        self.stopped_at = time.monotonic()
        self.own_cpu_s = time.thread_time()

    def dump(self, path: Path) -> None:
        def rows(counter: Counter[Key]) -> list[list[Any]]:
            return [[f, line, name, ns / 1e9] for (f, line, name), ns in counter.most_common(200)]

        process_cpu = time.process_time()
        path.write_text(
            json.dumps(
                {
                    "kind": "sampler",
                    "interval": self.interval,
                    "samples": self.samples,
                    "wall_s": self.stopped_at - self.started_at,
                    "process_cpu_s": process_cpu,
                    "sampler_cpu_s": self.own_cpu_s,
                    "threads": {n: ns / 1e9 for n, ns in self.per_thread.items()},
                    "own": rows(self.own),
                    "cumulative": rows(self.cumulative),
                }
            )
        )


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> None:
    outdir = Path(sys.argv[1])
    outdir.mkdir(parents=True, exist_ok=True)
    sys.argv = ["hookline", *sys.argv[2:]]
    kind = os.environ.get("BENCH_PROFILER", "sampler")
    # uvicorn handles SIGTERM itself, then restores the handler it found and raises the
    # signal again; with the default handler that would kill us before the dump.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    from hookline.cli import main as hookline_main

    sampler: Sampler | None = None
    main_profiler: cProfile.Profile | None = None
    if kind == "cprofile":
        threading.setprofile(_start_in_thread)
        main_profiler = cProfile.Profile()
        with _lock:
            _profiles.insert(0, ("MainThread", main_profiler))
        main_profiler.enable()
    else:
        sampler = Sampler()
        sampler.start()
    try:
        hookline_main()
    except SystemExit:
        pass
    finally:
        if main_profiler is not None:
            main_profiler.disable()
            threading.setprofile(None)  # type: ignore[arg-type]
            _dump_cprofile(outdir)
        if sampler is not None:
            sampler.halt.set()
            sampler.join()
            sampler.dump(outdir / "sampler.json")


if __name__ == "__main__":
    main()
