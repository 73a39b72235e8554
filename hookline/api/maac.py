"""MAAC's Open API as its own small app, mounted at ``/openapi/v1``.

MAAC's clients expect MAAC's answers, not hookline's: trailing-slash paths, 400 (not
422) for a bad body, and a plain JSON error body ``{"detail": ..., "code": ...}``
(with ``errors: [{property, message, code}]`` for field errors) rather than
problem+json. A mounted app has its own exception handlers, so those shapes stay here
and the rest of hookline keeps its conventions; it is also left out of hookline's own
OpenAPI document (docs/openapi.md documents it).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hookline.api.errors import ProblemResponse, allowed_methods, unparsable_body
from hookline.api.routers import maac_openapi
from hookline.domain import errors as domain
from hookline.domain.messaging import EventLimitReached, RateLimited
from hookline.http.deps import Wiring
from hookline.http.status import status_of

PREFIX = "/openapi/v1"


class MaacResponse(ProblemResponse):
    """JSON that renders whatever text it quotes (a lone surrogate as its escape)."""

    media_type = "application/json"


def maac_error(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return MaacResponse({"detail": detail, "code": code, **extra}, status, headers=headers)


def _status(exc: domain.HooklineError) -> int:
    if isinstance(exc, domain.InvalidInput | EventLimitReached):
        return 400
    if isinstance(exc, RateLimited):
        return 429
    return status_of(exc)


async def _on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, domain.HooklineError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, domain.Unauthorized) else None
    if isinstance(exc, RateLimited | domain.StorageUnavailable):
        headers = {"Retry-After": str(exc.retry_after)}
    extra: dict[str, Any] = {}
    if isinstance(exc, domain.InvalidInput):
        extra["errors"] = [
            {"property": e.field, "message": e.message, "code": e.code} for e in exc.errors
        ]
    return maac_error(_status(exc), exc.code, exc.message, headers, **extra)


def _property(loc: tuple[int | str, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(str(p) for p in parts) or "body"


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errs = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errs):
        return maac_error(400, "invalid_json", "The request body is not valid JSON.")
    fields = []
    for e in errs:
        prop = _property(tuple(e.get("loc", ())))
        fields.append(
            {"property": prop, "message": f"{prop}: {e.get('msg')}", "code": str(e.get("type"))}
        )
    detail = " ".join(f["message"] for f in fields)
    return maac_error(400, "validation_error", detail, errors=fields)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    reason = unparsable_body(exc.__cause__) if exc.status_code == 400 else None
    if reason is not None:
        return maac_error(400, "invalid_json", reason)
    codes = {404: "not_found", 405: "method_not_allowed"}
    detail = exc.detail if isinstance(exc.detail, str) else "Error"
    headers = dict(exc.headers or {})
    allow = allowed_methods(request) if exc.status_code == 405 else None
    if allow is not None:
        headers["Allow"] = allow
    return maac_error(exc.status_code, codes.get(exc.status_code, "http_error"), detail, headers)


def build(wiring: Wiring) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.wiring = wiring
    app.add_exception_handler(domain.HooklineError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.include_router(maac_openapi.router)
    return app


def install(app: FastAPI) -> None:
    wiring = getattr(app.state, "wiring", None)
    if isinstance(wiring, Wiring):
        app.mount(PREFIX, build(wiring))
