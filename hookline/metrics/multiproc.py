"""Where the processes of one machine keep their counts: ``PROMETHEUS_MULTIPROC_DIR``.

Each process writes its own files there (``counter_<pid>.db`` ...); ``/metrics`` sums
them. ``serve`` and ``worker`` call ``use_shared_dir`` first thing, and the variable,
once in ``os.environ``, is inherited by every child process they start.

- Set by the operator: used as it is, never cleaned (a systemd ``RuntimeDirectory=``
  is new at every start, which is what the client's documentation asks for).
- Absent: ``default_dir(data_dir)``, shared by the processes of one data directory
  and kept on a RAM disk (``/dev/shm``, else the temporary directory), never in the
  data directory itself: the client memory-maps its files and grows them sparsely, so
  on a full data disk the first count that touched a new page killed the worker with
  SIGBUS (tests/faults/test_full_disk.py). ``serve`` owns it and at start removes the
  files of processes that no longer run, so a restart begins from the live processes'
  counts and the directory does not grow with every restart; a ``worker`` only
  creates it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

ENV = "PROMETHEUS_MULTIPROC_DIR"
_FILE = re.compile(r"^[a-z]+_(?:[a-z]+_)?(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_dead_files(directory: Path) -> int:
    """Delete the count files of processes that are gone; answers how many went."""
    removed = 0
    for path in directory.iterdir():
        found = _FILE.match(path.name)
        if found is None or _alive(int(found.group(1))):
            continue
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:  # another starting serve removed it first
            continue
    return removed


def default_dir(data_dir: Path) -> Path:
    """The directory of one data directory's processes when none is configured."""
    key = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    shm = Path("/dev/shm")  # noqa: S108 (a private, owner-checked directory in it)
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    return base / f"hookline-metrics-{os.getuid()}-{key}"


def _own_private_dir(directory: Path) -> None:
    """Make it 0700, or check that the one found is ours: a shared temporary directory
    must not let another user plant (or read) this machine's counts."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    found = os.lstat(directory)
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid():
        raise RuntimeError(f"{directory} is not a directory of this user's; set {ENV}")
    if stat.S_IMODE(found.st_mode) & 0o077:
        os.chmod(directory, 0o700)


def use_shared_dir(data_dir: Path, *, owner: bool) -> Path:
    """Point this process (and its children) at the shared directory; answers it.

    Call before anything counts: the client reads the variable on first import.
    """
    configured = os.environ.get(ENV)
    if configured:
        return Path(configured)
    directory = default_dir(data_dir)
    _own_private_dir(directory)
    if owner:
        removed = remove_dead_files(directory)
        if removed:
            log.info("removed %d metric files of stopped processes from %s", removed, directory)
    if "prometheus_client.values" in sys.modules:
        # too late: this process already counts in memory, and /metrics would miss it
        raise RuntimeError("prometheus_client was imported before use_shared_dir")
    os.environ[ENV] = str(directory.resolve())
    return directory
