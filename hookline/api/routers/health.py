"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from hookline.api.deps import Ctx

router = APIRouter(tags=["health"])

_STATUS = {"type": "object", "additionalProperties": {"type": "string"}}
NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "Not ready: the database cannot be reached.",
        "content": {"application/json": {"schema": _STATUS}},
    }
}


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None, responses=NOT_READY)
def readyz(ctx: Ctx) -> dict[str, str] | JSONResponse:
    try:
        ctx.db.ping()
    except Exception:  # any driver error means "not ready"; the detail stays in the logs
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return {"status": "ok", "database": ctx.db.dialect}
