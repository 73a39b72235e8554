"""Unit tests do no I/O: a test here that opens a network socket or resolves a name fails.

Tests that need a loopback server, a database file or a child process belong in
``integration/``, ``acceptance/`` or one of the other folders (tests/README.md).
Sockets made from an existing descriptor (the event loop's self-pipe) are allowed.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

_NETWORK = (socket.AF_INET, socket.AF_INET6)


class NetworkInUnitTest(AssertionError):
    """A unit test tried to reach the network (loopback included)."""


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    real_socket = socket.socket

    def guarded_socket(
        family: int = socket.AF_INET,
        type: int = socket.SOCK_STREAM,
        proto: int = 0,
        fileno: Any = None,
    ) -> socket.socket:
        if fileno is None and family in _NETWORK:
            raise NetworkInUnitTest("unit tests open no network socket; move this test")
        return real_socket(family, type, proto, fileno)

    def refuse_lookup(*_args: object, **_kwargs: object) -> Any:
        raise NetworkInUnitTest("unit tests resolve no names; move this test")

    monkeypatch.setattr(socket, "socket", guarded_socket)
    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
