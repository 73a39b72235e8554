"""``hookline serve``'s delivery workers: child processes kept running, stopped together.

Each child is ``python -m hookline worker``, the very command a separate machine runs,
so the embedded and the split forms are one code path. A child that dies is started
again after a pause that doubles while it keeps dying soon after its start (1 s up to
30 s), so a crash loop costs a log line every 30 s, not a core. Stopping sends SIGTERM
to every child (each drains: finishes what is in flight within HOOKLINE_DRAIN_SECONDS
and gives back the rest), waits for them, and kills only what outlives that bound.

Children die with the parent even when the parent is SIGKILLed and cannot tell them:
each inherits the read end of a pipe whose write end only the parent holds, and a
worker that sees it close (the kernel closes it when the parent dies, however it
dies) stops as on SIGTERM (``watch_parent``). That works wherever pipes do, unlike
Linux's PR_SET_PDEATHSIG.

Standard library only: no FastAPI, no database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

PARENT_FD_ENV = "HOOKLINE_PARENT_FD"
"""Set in a supervised worker's environment: the fd whose EOF means "your parent is gone"."""

FIRST_DELAY = 1.0  # seconds before the first restart of a child that died
MAX_DELAY = 30.0  # the longest pause between restarts of a child that keeps dying
HEALTHY_AFTER = 30.0  # a child that ran this long starts again after FIRST_DELAY
CHECK_EVERY = 0.2  # seconds between looks at the children
STOP_GRACE = 5.0  # beyond the drain bound: start-up, closing connections, the last write


def worker_command() -> list[str]:
    """``hookline worker`` with this interpreter, whatever way serve itself was started."""
    return [sys.executable, "-m", "hookline", "worker"]


def describe_exit(code: int) -> str:
    """Popen's return code as an operator reads it: a code or a signal's name."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
        return f"was killed by signal {-code}"
    return f"exited with code {code}"


@dataclass
class Slot:
    """One place for a worker process: the current child, or when to start the next."""

    number: int
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    delay: float = FIRST_DELAY
    restart_at: float = 0.0


class Supervisor:
    """Keeps ``count`` worker processes running until ``stop``.

    ``start`` spawns them all before it returns (their pids are known at once); a
    thread then watches them and restarts the dead. Thread-safe: ``begin_stop`` may be
    called from a signal handler while the thread works.
    """

    def __init__(
        self,
        count: int,
        *,
        drain_seconds: float,
        command: Sequence[str] | None = None,
        env: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if count < 1:
            raise ValueError("a supervisor needs at least one worker process")
        self.command = list(command or worker_command())
        self.drain_seconds = drain_seconds
        self._env = env
        self._clock = clock
        self._slots = [Slot(n) for n in range(1, count + 1)]
        self._lock = threading.RLock()  # begin_stop may run in a signal handler
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._parent_read, self._parent_write = os.pipe()
        self.restarts = 0

    @property
    def pids(self) -> list[int]:
        """The pids of the children running now (a restarted child has a new one)."""
        with self._lock:
            return [s.proc.pid for s in self._slots if s.proc is not None]

    def start(self, *, watch: bool = True) -> list[int]:
        """Spawn every child; ``watch`` starts the thread that calls ``check`` (tests
        call it by hand instead)."""
        with self._lock:
            for slot in self._slots:
                self._spawn(slot)
        if watch:
            # a daemon: should serve ever end without stop(), the children still see the
            # pipe close and go, rather than this thread keeping serve alive
            self._thread = threading.Thread(
                target=self._watch, name="hookline-supervisor", daemon=True
            )
            self._thread.start()
        return self.pids

    def _spawn(self, slot: Slot) -> None:
        """Start ``slot``'s child; a failure to start is retried like a death (lock held)."""
        env = dict(os.environ if self._env is None else self._env)
        env[PARENT_FD_ENV] = str(self._parent_read)
        try:
            slot.proc = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
                self.command,
                env=env,
                pass_fds=(self._parent_read,),
                # Not in serve's process group: a terminal's Ctrl-C reaches serve alone,
                # which stops the children itself, so none is restarted by mistake.
                process_group=0,
            )
        except OSError as exc:
            slot.restart_at = self._clock() + slot.delay
            log.error(
                "worker process %d could not start (%s); next try in %.0f s",
                slot.number,
                exc,
                slot.delay,
            )
            slot.delay = min(slot.delay * 2, MAX_DELAY)
            return
        slot.started = self._clock()
        log.info("worker process %d started: pid %d", slot.number, slot.proc.pid)

    def _watch(self) -> None:
        while not self._stopping.wait(CHECK_EVERY):
            try:
                self.check()
            except Exception:  # a bug here must not leave the children unwatched for good
                log.exception("the worker supervisor failed a round; it carries on")

    def check(self) -> None:
        """One look at every child: note the dead, restart those whose pause is over."""
        with self._lock:
            if self._stopping.is_set():
                return
            for slot in self._slots:
                self._tend(slot)

    def _tend(self, slot: Slot) -> None:
        """Note a death and schedule its restart, or restart when the pause is over."""
        now = self._clock()
        if slot.proc is None:
            if now >= slot.restart_at:
                self.restarts += 1
                self._spawn(slot)
            return
        code = slot.proc.poll()
        if code is None:
            return
        if now - slot.started >= HEALTHY_AFTER:
            slot.delay = FIRST_DELAY
        log.error(
            "worker process %d (pid %d) %s; restarting it in %.0f s",
            slot.number,
            slot.proc.pid,
            describe_exit(code),
            slot.delay,
        )
        slot.proc = None
        slot.restart_at = now + slot.delay
        slot.delay = min(slot.delay * 2, MAX_DELAY)

    def begin_stop(self) -> None:
        """Stop restarting and send SIGTERM to every child; returns at once. Idempotent."""
        with self._lock:
            first = not self._stopping.is_set()
            self._stopping.set()
            procs = [s.proc for s in self._slots if s.proc is not None]
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        if first and procs:
            log.info("stopping %d worker processes: they finish what is in flight", len(procs))

    def stop(self) -> list[int]:
        """``begin_stop``, then wait for the children (killing any past the bound).

        Answers the children's exit codes.
        """
        self.begin_stop()
        if self._thread is not None:
            self._thread.join()
        deadline = self._clock() + self.drain_seconds + STOP_GRACE
        codes = []
        for slot in self._slots:
            if slot.proc is not None:
                codes.append(self._reap(slot.number, slot.proc, deadline))
        with contextlib.suppress(OSError):
            os.close(self._parent_read)
        with contextlib.suppress(OSError):
            os.close(self._parent_write)
        return codes

    def _reap(self, number: int, proc: subprocess.Popen[bytes], deadline: float) -> int:
        try:
            code = proc.wait(timeout=max(0.0, deadline - self._clock()))
        except subprocess.TimeoutExpired:
            log.error("worker process %d (pid %d) outlived its drain; killing it", number, proc.pid)
            proc.kill()
            code = proc.wait()
        if code not in (0, -signal.SIGTERM):  # SIGTERM kills one still starting: no harm
            log.warning("worker process %d (pid %d) %s", number, proc.pid, describe_exit(code))
        return code


def watch_parent(loop: asyncio.AbstractEventLoop, on_gone: Callable[[], None]) -> bool:
    """In a supervised worker: call ``on_gone`` once the supervising process is gone.

    The inherited pipe reads EOF when the last holder of its write end, the parent,
    has exited, however it died. Answers whether this process is supervised at all.
    """
    raw = os.environ.get(PARENT_FD_ENV)
    if not raw:
        return False
    try:
        fd = int(raw)
        os.fstat(fd)
    except (ValueError, OSError):  # inherited by mistake, not from a serve: run unwatched
        log.warning("%s=%r names no open pipe; not watching a parent", PARENT_FD_ENV, raw)
        return False

    def readable() -> None:
        try:
            data = os.read(fd, 1)
        except OSError:
            data = b""  # a broken pipe says the same: nobody is on the other end
        if data:
            return  # the parent never writes; a stray byte is no news
        loop.remove_reader(fd)
        on_gone()

    loop.add_reader(fd, readable)
    return True
