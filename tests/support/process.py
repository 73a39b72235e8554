"""``python -m hookline ...`` as a real child process, for tests that run the CLI.

The child's stdout and stderr are read line by line by a thread; tests wait on what
it printed (or on a port, or on any condition) with a deadline, and stop it in a
``finally``. ``python -m hookline`` is the ``hookline`` console script's entry point.
"""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


LOWEST_PORT = 10_000
_handed_out: set[int] = set()
_ports = random.Random()  # a port number, not a secret


def _ephemeral_start() -> int:
    """Where the kernel's ephemeral ports begin: it picks them for outgoing connections."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def free_port() -> int:
    """A loopback port that was free a moment ago, for a server a test starts next.

    Not one the kernel picks (``bind(("127.0.0.1", 0))``): those come from the
    ephemeral range, which every outgoing connection draws from too, so a worker's or
    a client's connection could take the port between this answer and the server's
    bind ("address already in use" in a full run). Below that range only a server that
    asks for a port by number gets one, and this session never hands out one twice.
    """
    top = _ephemeral_start()
    for _ in range(1000):
        port = _ports.randrange(LOWEST_PORT, max(top, LOWEST_PORT + 1000))
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free loopback port between {LOWEST_PORT} and {top}")


def cli_env(*, drop: Iterable[str] = (), **values: str) -> dict[str, str]:
    """This environment for a child: unbuffered, UTF-8, 200 columns (nothing wraps).

    ``drop`` names variables to leave out; ``values`` are set on top.
    """
    env = {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1", "PYTHONUTF8": "1"}
    for name in drop:
        env.pop(name, None)
    env.update(values)
    return env


def wait_until(what: str, condition: Callable[[], bool], timeout: float, step: float = 0.1) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds, naming ``what``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


class Process:
    """One ``python -m hookline *args`` child; its output collected by a thread."""

    def __init__(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hookline", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            env=cli_env() if env is None else env,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def exited_early(self) -> None:
        """Fail with the whole output if the process has already exited."""
        if self.proc.poll() is not None:
            self._reader.join(timeout=5)
            pytest.fail(f"{self.name} exited early ({self.proc.returncode}):\n{self.output}")

    def wait_for_output(self, *texts: str, timeout: float = 20) -> str:
        """Wait until every text has been printed; returns the whole output so far."""

        def printed() -> bool:
            out = "".join(self.lines)
            return all(text in out for text in texts)

        with self._changed:
            if not self._changed.wait_for(printed, timeout):
                out = "".join(self.lines)
                missing = [t for t in texts if t not in out]
                pytest.fail(f"{self.name}: {missing!r} not printed within {timeout} s:\n{out}")
            return "".join(self.lines)

    def wait_for_line(self, prefix: str, timeout: float) -> None:
        """Wait for a line starting with ``prefix`` (colours ignored), or for the exit."""

        def found() -> bool:
            return any(_ANSI.sub("", line).startswith(prefix) for line in self.lines)

        with self._changed:
            self._changed.wait_for(lambda: self.proc.poll() is not None or found(), timeout)
            if found():
                return
        pytest.fail(f"{self.name}: no line starting with {prefix!r}:\n{self.output}")

    def wait_for_port(self, port: int, timeout: float = 30) -> None:
        """Wait until something accepts connections on the loopback ``port``."""

        def accepting() -> bool:
            self.exited_early()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                return False
            return True

        try:
            wait_until(f"port {port}", accepting, timeout, step=0.05)
        except AssertionError:
            pytest.fail(f"port {port} not accepting within {timeout} s:\n{self.output}")

    def terminate(self, timeout: float = 20) -> int:
        """SIGTERM, then the exit code; fails (after a SIGKILL) if it is still running
        after ``timeout`` seconds."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"{self.name} ignored SIGTERM for {timeout} s:\n{self.output}")
        self._reader.join(timeout=5)
        return code

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, SIGKILL if it is still running after ``timeout`` s; the exit code.

        For ``finally`` blocks: it never fails, and does nothing to a stopped process.
        """
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reader.join(timeout=5)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
