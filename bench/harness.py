"""Processes and databases of one benchmark run: hookline itself, its database, /proc.

Everything listens on and talks to 127.0.0.1 only. Every process started here is
stopped here, by its own pid.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- /proc ------------------------------------------------------------------------


def peak_rss_kib(pid: int) -> int | None:
    """``VmHWM``: the most resident memory the process ever had."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (all its threads), plus that of its
    children that have exited: a PostgreSQL backend's CPU stays counted (in the
    postmaster's) after the backend is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return sum(int(f) for f in fields[11:15]) / CLK_TCK


def pids_named(comm: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == comm:
                    found.append(int(entry.name))
    return found


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, from /proc/stat."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in first]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


@dataclass
class CpuSnapshot:
    at: float
    per_process: dict[str, float]
    machine_busy: float
    machine_total: float


PidSource = list[int] | Callable[[], list[int]]


def cpu_snapshot(groups: dict[str, PidSource]) -> CpuSnapshot:
    """CPU seconds per group; a callable group is asked for its pids again each time."""
    per: dict[str, float] = {}
    for name, source in groups.items():
        pids = source() if callable(source) else source
        per[name] = sum(c for c in (cpu_seconds(p) for p in pids) if c is not None)
    busy, total = machine_cpu()
    return CpuSnapshot(time.monotonic(), per, busy, total)


def cpu_usage(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Percent of one core per process group between two snapshots, plus the machine's."""
    wall = after.at - before.at
    if wall <= 0:
        return {}
    out = {
        name: 100 * (after.per_process.get(name, 0.0) - before.per_process.get(name, 0.0)) / wall
        for name in after.per_process
    }
    busy = after.machine_busy - before.machine_busy
    ours = sum(after.per_process.get(n, 0.0) - before.per_process.get(n, 0.0) for n in out)
    out["other processes"] = max(0.0, 100 * (busy - ours) / wall)
    total = after.machine_total - before.machine_total
    if total > 0:
        out["machine (all cores)"] = 100 * busy / total
    return out


async def machine_busy_percent(seconds: float = 1.0) -> float:
    """How busy the whole machine is over ``seconds``, in percent of all its cores."""
    import asyncio

    busy0, total0 = machine_cpu()
    await asyncio.sleep(seconds)
    busy1, total1 = machine_cpu()
    return 100 * (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0


# -- databases ----------------------------------------------------------------------


@dataclass
class Backend:
    """One database hookline runs on during the benchmark: created fresh, dropped after."""

    name: str  # "sqlite" | "postgresql"
    workdir: Path
    db_name: str = ""
    created: list[str] = field(default_factory=list)

    def prepare(self, label: str) -> dict[str, str]:
        """A fresh, empty database; answers the HOOKLINE_* variables that select it."""
        data_dir = self.workdir / f"{self.name}-{label}"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {"HOOKLINE_DATA_DIR": str(data_dir)}
        if self.name == "postgresql":
            import psycopg

            self.db_name = f"hookline_bench_{os.getpid()}_{label}"
            with psycopg.connect(f"{POSTGRES_ADMIN_URL}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}"')
                conn.execute(f'CREATE DATABASE "{self.db_name}"')
            self.created.append(self.db_name)
            host_part = POSTGRES_ADMIN_URL.split("://", 1)[1]
            env["HOOKLINE_DATABASE_URL"] = f"postgresql+psycopg://{host_part}/{self.db_name}"
        else:
            self.db_name = str(data_dir / "hookline.db")
        return env

    def connect(self):  # type: ignore[no-untyped-def]
        """A read-only DB-API connection to the current database, for measuring."""
        if self.name == "postgresql":
            import psycopg

            conn = psycopg.connect(f"{POSTGRES_ADMIN_URL}/{self.db_name}", autocommit=True)
            conn.read_only = True
            return conn
        import sqlite3

        return sqlite3.connect(f"file:{self.db_name}?mode=ro", uri=True, timeout=30)

    def server_pids(self) -> list[int]:
        return pids_named("postgres") if self.name == "postgresql" else []

    def cleanup(self) -> None:
        if self.name != "postgresql" or not self.created:
            return
        import psycopg

        with psycopg.connect(f"{POSTGRES_ADMIN_URL}/postgres", autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers; else why not."""
    try:
        import psycopg

        with psycopg.connect(f"{POSTGRES_ADMIN_URL}/postgres", connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    return None


@contextlib.contextmanager
def postgres_as_deployed() -> Iterator[str]:
    """PostgreSQL's autovacuum on for the run, as every server has it unless told not to.

    A CI server may have it off (this machine's does: ``conf.d/90-ci.conf``). Without it
    the deliveries table keeps every dead row of a run's claims and settles, and the
    steady phase measured a server nobody deploys: PostgreSQL's own CPU went from
    43-52% to 64-71% of a core and hookline fell behind. Turned on with ``ALTER
    SYSTEM`` (a superuser's reload, no restart) and reset after; answers what the
    report should say.
    """
    import psycopg

    with psycopg.connect(f"{POSTGRES_ADMIN_URL}/postgres", autocommit=True) as conn:
        row = conn.execute("SHOW autovacuum").fetchone()
        if row is not None and row[0] == "on":
            yield "autovacuum on (the server's own setting)"
            return
        try:
            conn.execute("ALTER SYSTEM SET autovacuum = on")
            conn.execute("SELECT pg_reload_conf()")
        except psycopg.Error as exc:
            yield f"autovacuum off: the server's setting, which the run could not change ({exc})"
            return
        _wait_for_setting(conn, "autovacuum", "on")
        try:
            yield "autovacuum on (turned on for the run: the server has it off, users' do not)"
        finally:
            conn.execute("ALTER SYSTEM RESET autovacuum")
            conn.execute("SELECT pg_reload_conf()")
            _wait_for_setting(conn, "autovacuum", str(row[0]) if row else "off")


def _wait_for_setting(conn: Any, name: str, value: str, timeout: float = 5.0) -> None:
    """``pg_reload_conf`` only signals the server: wait until a new query sees it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(f"SHOW {name}").fetchone()
        if row is not None and row[0] == value:
            return
        time.sleep(0.05)
    raise RuntimeError(f"PostgreSQL's {name} did not become {value!r} within {timeout} s")


def postgres_version() -> str:
    import psycopg

    with psycopg.connect(f"{POSTGRES_ADMIN_URL}/postgres", connect_timeout=3) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


# -- hookline processes -------------------------------------------------------------


def hookline_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Process:
    """One child process with its log file; stopped gracefully (SIGTERM) by its pid."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._fh = log.open("wb")
        self.proc = subprocess.Popen(  # noqa: S603 - our own command line
            cmd, env=env, cwd=ROOT, stdout=self._fh, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, timeout: float = 60.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._fh.close()
        return self.proc.returncode


TOPOLOGIES = ("serve", "split", "embedded")
"""``serve``: plain ``hookline serve``, what users run (one worker process per core);
``split``: ``serve --no-worker`` plus ``workers`` ``hookline worker`` processes;
``embedded``: ``serve --workers 0``, one worker inside the serve process."""

WORKER_READY = re.compile(r"^worker \S+ on ", re.MULTILINE)


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (serve's worker processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                    found.append(int(entry.name))
    return sorted(found)


class Hookline:
    """``hookline serve`` in one of the ``TOPOLOGIES``.

    ``serve_args`` are added to serve's command line (``--demo`` for bench/dashboard.py).
    """

    def __init__(
        self,
        env: dict[str, str],
        logdir: Path,
        *,
        topology: str = "serve",
        workers: int = 2,
        profile_dir: Path | None = None,
        serve_args: Sequence[str] = (),
    ) -> None:
        if topology not in TOPOLOGIES:
            raise ValueError(f"unknown topology {topology!r}")
        self.port = free_port()
        self.env = env
        self.logdir = logdir
        self.topology = topology
        self.workers = workers if topology == "split" else 0
        self.serve_workers = workers if topology == "serve" and workers else None
        """``serve --workers N``; None: serve's default, one per core."""
        self.profile_dir = profile_dir
        self.serve_args = list(serve_args)
        self.serve: Process | None = None
        self.worker_procs: list[Process] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _python(self, args: list[str], profile_name: str) -> list[str]:
        if self.profile_dir is None:
            return [sys.executable, "-m", "hookline", *args]
        out = self.profile_dir / profile_name
        return [sys.executable, "-m", "bench.profiled", str(out), *args]

    def start(self, timeout: float = 90.0) -> None:
        args = ["serve", "--host", "127.0.0.1", "--port", str(self.port), *self.serve_args]
        if self.topology == "split":
            args.append("--no-worker")
        elif self.topology == "embedded":
            args += ["--workers", "0"]
        elif self.serve_workers is not None:
            args += ["--workers", str(self.serve_workers)]
        self.serve = Process(
            "serve", self._python(args, "serve"), self.env, self.logdir / "serve.log"
        )
        self._wait_healthy(timeout)
        deadline = time.monotonic() + timeout
        if self.topology == "serve":
            self._wait_serve_workers(deadline)
        for n in range(self.workers):
            proc = Process(
                f"worker {n + 1}",
                self._python(["worker"], f"worker-{n + 1}"),
                self.env,
                self.logdir / f"worker-{n + 1}.log",
            )
            self.worker_procs.append(proc)
        for proc in self.worker_procs:
            while "worker" not in proc.tail(50) or "on " not in proc.tail(50):
                if not proc.alive():
                    raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{proc.name} did not start:\n{proc.tail()}")
                time.sleep(0.1)

    def _wait_serve_workers(self, deadline: float) -> None:
        """Until each of serve's worker processes (one per core) is ready to claim."""
        assert self.serve is not None
        expected = self.serve_workers or os.cpu_count() or 1
        while len(WORKER_READY.findall(self.serve.log.read_text(errors="replace"))) < expected:
            if not self.serve.alive():
                raise RuntimeError(f"hookline serve exited:\n{self.serve.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve's workers did not start:\n{self.serve.tail()}")
            time.sleep(0.1)

    def serve_worker_pids(self) -> list[int]:
        """serve's own worker processes, now (a restarted one has a new pid)."""
        return children_of(self.serve.pid) if self.serve is not None else []

    def _wait_healthy(self, timeout: float) -> None:
        assert self.serve is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.serve.alive():
                raise RuntimeError(f"hookline serve exited:\n{self.serve.tail()}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"hookline serve did not become healthy:\n{self.serve.tail()}")

    def processes(self) -> list[Process]:
        return ([self.serve] if self.serve else []) + self.worker_procs

    def pid_groups(self) -> dict[str, PidSource]:
        groups: dict[str, PidSource] = {p.name: [p.pid] for p in self.processes()}
        if self.topology == "serve":
            groups["serve's workers"] = self.serve_worker_pids
        return groups

    def peak_rss(self) -> dict[str, int | None]:
        peaks = {p.name: peak_rss_kib(p.pid) for p in self.processes()}
        for n, pid in enumerate(self.serve_worker_pids() if self.topology == "serve" else []):
            peaks[f"serve's worker {n + 1}"] = peak_rss_kib(pid)
        return peaks

    def stop(self) -> None:
        for proc in self.worker_procs:  # all at once, so they drain in parallel
            if proc.alive():
                proc.proc.send_signal(signal.SIGTERM)
        for proc in self.worker_procs:
            proc.stop()
        if self.serve is not None:
            self.serve.stop()
