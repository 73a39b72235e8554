"""A real HTTP proxy on loopback: Debian's ``tinyproxy``, started by the test.

Its configuration and log go to a temporary directory and it listens on a free
loopback port; the log (level ``Connect``) records each request line it forwarded,
so a test can see which address the proxy was asked for. Stopped by its own pid.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.support.process import free_port

TINYPROXY = "/usr/bin/tinyproxy"
START_TIMEOUT = 10.0


@dataclass
class Proxy:
    url: str
    log: Path

    def requests(self) -> list[str]:
        """The request lines the proxy handled (``CONNECT host:port`` or ``POST url``)."""
        if not self.log.exists():
            return []
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [line.split("): ", 1)[1] for line in lines if "Request (file descriptor" in line]


def _accepting(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def tinyproxy(tmp: Path) -> Iterator[Proxy]:
    """``tinyproxy`` in the foreground on 127.0.0.1, allowing loopback clients only."""
    if shutil.which(TINYPROXY) is None:
        message = "tinyproxy is not installed (apt-get install tinyproxy)"
        if IN_CI:
            pytest.fail(message + " (CI=true: these tests must run, not skip)")
        pytest.skip(message)
    port = free_port()
    log = tmp / "tinyproxy.log"
    conf = tmp / "tinyproxy.conf"
    conf.write_text(
        f'Port {port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nLogFile "{log}"\n'
        "LogLevel Connect\nMaxClients 200\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [TINYPROXY, "-d", "-c", str(conf)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _accepting(port):
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                pytest.fail(f"tinyproxy exited ({proc.returncode}): {out}")
            if time.monotonic() > deadline:
                pytest.fail(f"tinyproxy not accepting on {port} within {START_TIMEOUT} s")
            time.sleep(0.05)
        yield Proxy(f"http://127.0.0.1:{port}", log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
