"""The metrics package: where the counts go, what is counted, and when the client loads."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hookline import metrics
from hookline.domain.deliveries import Attempt, AttemptTrigger, DeliveryState, Settlement
from hookline.metrics import exposition, multiproc
from tests.support.prom import value
from tests.unit.test_import_rules import imported_after


def settlement(state: DeliveryState, error: str | None, latency_ms: float = 20.0) -> Settlement:
    attempt = Attempt(
        1, AttemptTrigger.WORKER, datetime.now(UTC), latency_ms, None, error, None, ""
    )
    return Settlement("dlv_1", "wh_1", attempt, state, None)


def test_a_settled_batch_is_counted_by_outcome_and_error_class() -> None:
    before = exposition.render(None).decode()
    metrics.record_settled(
        [
            settlement(DeliveryState.DELIVERED, None, 3.0),
            settlement(DeliveryState.DELIVERED, None, 40.0),
            settlement(DeliveryState.PENDING, "timeout", 15000.0),
            settlement(DeliveryState.FAILED, "not-a-class"),  # an unknown one: bounded labels
        ]
    )
    metrics.record_reclaimed(3)
    after = exposition.render(None).decode()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    settled = "hookline_deliveries_settled_total"
    assert moved(settled, outcome="delivered", error="none") == 2
    assert moved(settled, outcome="retry", error="timeout") == 1
    assert moved(settled, outcome="failed", error="other") == 1
    assert moved("hookline_leases_reclaimed_total") == 3
    assert moved("hookline_attempt_duration_seconds_count") == 4
    assert moved("hookline_attempt_duration_seconds_bucket", le="0.005") == 1
    assert moved("hookline_attempt_duration_seconds_bucket", le="10.0") == 3


def test_a_failing_count_never_stops_the_caller_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hookline.metrics")
    broken = settlement(DeliveryState.DELIVERED, None, latency_ms="soon")  # type: ignore[arg-type]
    for _ in range(3):
        metrics.record_settled([broken])
    assert caplog.text.count("could not count 1 settled deliveries") == 1
    metrics.record_settled([settlement(DeliveryState.DELIVERED, None)])
    assert "counting works again" in caplog.text
    metrics.record_settled([broken])
    assert caplog.text.count("could not count 1 settled deliveries") == 2


def test_the_worker_side_and_the_cli_load_no_metrics_client() -> None:
    """The client fixes its value store when first imported: it must wait for
    ``use_shared_dir``, which ``serve`` and ``worker`` call after reading settings."""
    for module in ("hookline.cli", "hookline.bootstrap", "hookline.services.ingest"):
        assert "prometheus_client" not in imported_after(f"import {module}"), module


def test_a_configured_directory_is_used_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "mine"
    monkeypatch.setenv(multiproc.ENV, str(mine))
    assert multiproc.use_shared_dir(tmp_path / "data", owner=True) == mine
    assert not (tmp_path / "data").exists()


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_serve_owns_the_default_directory_and_drops_dead_processes_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.setenv(multiproc.ENV, "")  # empty is unset; undone after the test
    # as in a fresh ``serve``: the client is not loaded yet (this test process has it)
    monkeypatch.delitem(sys.modules, "prometheus_client.values")
    directory = multiproc.default_dir(tmp_path / "data")
    directory.mkdir(parents=True)
    request.addfinalizer(lambda: shutil.rmtree(directory, ignore_errors=True))
    dead, alive = dead_pid(), os.getpid()
    names = [
        f"counter_{dead}.db",
        f"histogram_{dead}.db",
        f"gauge_livesum_{dead}.db",
        f"counter_{alive}.db",
        "notes.txt",
    ]
    for name in names:
        (directory / name).write_bytes(b"")

    assert multiproc.use_shared_dir(tmp_path / "data", owner=False) == directory
    assert sorted(p.name for p in directory.iterdir()) == sorted(names)  # a worker keeps all
    assert os.environ[multiproc.ENV] == str(directory.resolve())  # children inherit it

    monkeypatch.setenv(multiproc.ENV, "")
    multiproc.use_shared_dir(tmp_path / "data", owner=True)
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [f"counter_{alive}.db", "notes.txt"]
    )


def test_a_client_loaded_too_early_is_an_error_not_lost_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loaded before the variable, the client counts in memory: ``serve`` would never
    see this process's counts. ``use_shared_dir`` refuses rather than lose them."""
    monkeypatch.setenv(multiproc.ENV, "")
    assert "prometheus_client.values" in sys.modules  # this test process loaded it
    with pytest.raises(RuntimeError, match="imported before use_shared_dir"):
        multiproc.use_shared_dir(tmp_path / "data", owner=False)
    assert os.environ[multiproc.ENV] == ""


def test_the_default_directory_is_private_and_off_the_data_disk(tmp_path: Path) -> None:
    """Memory-mapped counts on the data disk died of SIGBUS when that disk filled."""
    data = tmp_path / "data"
    directory = multiproc.default_dir(data)
    assert data.resolve() not in directory.parents
    assert directory == multiproc.default_dir(data)  # every process of it finds the same
    assert directory != multiproc.default_dir(tmp_path / "other")
    try:
        multiproc._own_private_dir(directory)
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    finally:
        shutil.rmtree(directory, ignore_errors=True)
