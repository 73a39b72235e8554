"""Every Python process a test starts resolves no outside name either.

Python imports ``sitecustomize`` at start-up from the first directory on its path that
has one; the test session puts this directory first on ``PYTHONPATH``
(``tests/conftest.py``), so the ``hookline serve`` and ``hookline worker`` processes of
the acceptance and fault tests, and any other Python child, install the same stub as
the session itself (``offline_dns.py``, loaded by path: a child need not be able to
import ``tests``). Outside a test session this directory is on no path.
"""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "hookline_tests_offline_dns", Path(__file__).resolve().parent.parent / "offline_dns.py"
)
if _spec is not None and _spec.loader is not None:
    _offline_dns = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_offline_dns)
    socket.getaddrinfo = _offline_dns.offline(socket.getaddrinfo, socket.gethostname())
