"""Ports for the servers tests start (``tests.support.process.free_port``)."""

from __future__ import annotations

import socket

import pytest

from tests.support import process


def test_a_port_for_a_server_is_outside_the_range_outgoing_connections_use() -> None:
    ports = [process.free_port() for _ in range(50)]
    assert len(set(ports)) == 50  # never handed out twice in a session
    assert all(process.LOWEST_PORT <= p < process._ephemeral_start() for p in ports)
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports[-1]))  # and free


def test_a_port_in_use_is_not_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        picks = iter([busy, busy, process.LOWEST_PORT + 7])
        process._handed_out.discard(process.LOWEST_PORT + 7)

        class Rigged:
            def randrange(self, low: int, high: int) -> int:
                return next(picks)

        monkeypatch.setattr(process, "_ports", Rigged())
        assert process.free_port() == process.LOWEST_PORT + 7
