"""Fixtures of the fault suite: the children of a test, and the receiver.

Each test module defines an ``env`` fixture (the children's environment, per backend);
``processes`` starts nothing itself, stops every child at teardown, and prints their
output when the test failed.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.support.counting_receiver import CountingReceiver
from tests.support.shared_db import Processes

FAILED = pytest.StashKey[bool]()
RECEIVER_DELAY = 0.02  # a receiver that takes a moment: workers always have sends open


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture
def processes(request: pytest.FixtureRequest, env: dict[str, str]) -> Iterator[Processes]:
    procs = Processes(env)
    try:
        yield procs
    finally:
        procs.stop_all()
        if request.node.stash.get(FAILED, False):
            print("\n" + procs.report())


@pytest.fixture
def receiver() -> Iterator[CountingReceiver]:
    r = CountingReceiver(hang_paths=frozenset({"/hang"}), delay=RECEIVER_DELAY)
    r.start()
    yield r
    r.stop()
