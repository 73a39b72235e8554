"""Purge steps sized by how long the last one held the write lock (``retention.PurgeSteps``)."""

from __future__ import annotations

from hookline.store.retention import PURGE_STEP, PURGE_STEP_TARGET, PurgeSteps


def test_a_slow_step_halves_the_next_down_to_the_floor() -> None:
    steps = PurgeSteps()
    sizes = []
    for _ in range(12):
        steps.took(PURGE_STEP_TARGET * 3)
        sizes.append(steps.size)
    assert sizes[0] == PURGE_STEP // 2
    assert sizes[-1] == PurgeSteps.MIN
    assert sizes == sorted(sizes, reverse=True)


def test_a_quick_step_doubles_the_next_up_to_the_ceiling() -> None:
    steps = PurgeSteps()
    for _ in range(12):
        steps.took(PURGE_STEP_TARGET / 10)
    assert steps.size == PurgeSteps.MAX


def test_a_step_near_the_target_keeps_its_size() -> None:
    steps = PurgeSteps()
    steps.took(PURGE_STEP_TARGET * 0.75)
    assert steps.size == PURGE_STEP
