"""The wake-up fan-out the composition root hands the context."""

from __future__ import annotations

from typing import Any, cast

import pytest

from hookline.bootstrap import WakeFanOut, with_fan_out
from hookline.domain.secrets import SecretBox
from hookline.services.context import Context


def test_every_registered_waker_is_called_even_after_one_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    woken: list[str] = []

    def closed_loop() -> None:
        raise RuntimeError("Event loop is closed")

    wakeups = WakeFanOut(lambda: woken.append("other process"), closed_loop)
    wakeups.register(lambda: woken.append("embedded worker"))
    wakeups()
    assert woken == ["other process", "embedded worker"]
    assert "wake-up failed" in caplog.text


def test_a_context_without_a_fan_out_is_copied_never_rewritten() -> None:
    woken: list[str] = []
    own = Context(
        db=cast(Any, None), box=SecretBox("k" * 32), wake_workers=lambda: woken.append("own")
    )
    ctx, wakeups = with_fan_out(own)
    wakeups.register(lambda: woken.append("worker"))
    ctx.wake_workers()
    assert woken == ["own", "worker"]
    own.wake_workers()
    assert woken == ["own", "worker", "own"]
    again, same = with_fan_out(ctx)
    assert again is ctx and same is wakeups
