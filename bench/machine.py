"""Facts about the machine and the code a run measured, for the report's first table."""

from __future__ import annotations

import contextlib
import platform
import subprocess
from pathlib import Path

from bench import harness


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def memory_total() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "?"


def versions() -> str:
    from importlib.metadata import version

    names = ("aiohttp", "uvicorn", "uvloop", "fastapi", "sqlalchemy", "psycopg")
    found = []
    for name in names:
        with contextlib.suppress(Exception):
            found.append(f"{name} {version(name)}")
    return ", ".join(found)


def git_head() -> str:
    with contextlib.suppress(Exception):
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - read-only
            capture_output=True,
            text=True,
            cwd=harness.ROOT,
            check=False,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "hookline"],  # noqa: S607
            capture_output=True,
            text=True,
            cwd=harness.ROOT,
            check=False,
        )
        head = out.stdout.strip()
        return head + (" (hookline/ has uncommitted changes)" if dirty.stdout.strip() else "")
    return "?"
