"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from hookline.api.deps import Ctx
from hookline.http.deps import WiringDep
from hookline.services.context import Context

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

_STATUS = {
    "type": "object",
    "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
}
NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "Not ready: the database cannot be reached, writes fail, or no"
        " worker is alive where this process expects one.",
        "content": {"application/json": {"schema": _STATUS}},
    }
}


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None, responses=NOT_READY)
def readyz(ctx: Ctx, wiring: WiringDep) -> dict[str, str | int] | JSONResponse:
    try:
        ctx.db.ping()
    except Exception:  # any driver error means "not ready"; the detail stays in the logs
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if writes_failing(ctx):
        body = {"status": "unavailable", "database": ctx.db.dialect, "writes": "failing"}
        return JSONResponse(body, status_code=503)
    answer: dict[str, str | int] = {"status": "ok", "database": ctx.db.dialect, "writes": "ok"}
    return _with_workers(answer, ctx, expected=wiring.expect_workers)


def writes_failing(ctx: Ctx) -> bool:
    """A write of this process (ingest, the dashboard, an embedded worker) failed lately.

    A database that answers ``SELECT 1`` may still refuse every write (full, read-only).
    """
    return ctx.db.write_health.failing


def _with_workers(
    answer: dict[str, str | int], ctx: Context, *, expected: bool
) -> dict[str, str | int] | JSONResponse:
    """Add how many workers beat recently; none alive fails readiness if this process
    serves deliveries (``serve``): events would be accepted and never sent."""
    try:
        alive = ctx.queue.live_workers(ctx.clock(), within=ctx.worker_dead_after)
    except Exception:  # the table may be missing mid-upgrade: unknown, not a 500
        log.warning("could not count live workers", exc_info=True)
        return answer
    answer["workers"] = alive
    if alive == 0 and expected:
        answer.update(status="unavailable", reason="no worker alive")
        return JSONResponse(answer, status_code=503)
    return answer
