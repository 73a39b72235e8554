"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from hookline.api.deps import Ctx

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(ctx: Ctx) -> dict[str, str] | JSONResponse:
    try:
        ctx.db.ping()
    except Exception:  # any driver error means "not ready"; the detail stays in the logs
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if writes_failing(ctx):
        body = {"status": "unavailable", "database": ctx.db.dialect, "writes": "failing"}
        return JSONResponse(body, status_code=503)
    return {"status": "ok", "database": ctx.db.dialect, "writes": "ok"}


def writes_failing(ctx: Ctx) -> bool:
    """A write of this process (ingest, the dashboard, an embedded worker) failed lately.

    A database that answers ``SELECT 1`` may still refuse every write (full, read-only).
    """
    return ctx.db.write_health.failing
