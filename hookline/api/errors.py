"""RFC 9457 problem details for every error the API returns.

Clients branch on ``code``; people read ``detail``. Validation problems also list each
offending field, so a form can show the message beside it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from hookline.domain import errors as domain
from hookline.http.status import status_of

PROBLEM_TYPE = "urn:hookline:problem:"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def _body(status: int, code: str, detail: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": PROBLEM_TYPE + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


class ProblemResponse(JSONResponse):
    """A problem document that renders whatever text it quotes.

    Inputs are checked before a message quotes them, but should one ever quote a lone
    surrogate, it goes out as the JSON escape ``\\ud800`` instead of failing as a 500.
    """

    media_type = "application/problem+json"

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")


def _response(status: int, body: dict[str, Any], headers: dict[str, str] | None) -> JSONResponse:
    return ProblemResponse(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return _response(status, _body(status, code, detail, extra), headers)


def problem_fields(exc: domain.HooklineError) -> dict[str, Any]:
    """The body of a domain error's problem, also used per item in batch answers."""
    body = _body(status_of(exc), exc.code, exc.message, exc.extra)
    if isinstance(exc, domain.InvalidInput):
        body["errors"] = [
            {"field": e.field, "code": e.code, "message": e.message} for e in exc.errors
        ]
    return body


async def _on_domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, domain.HooklineError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, domain.Unauthorized) else None
    if isinstance(exc, domain.LoginThrottled | domain.StorageUnavailable):
        headers = {"Retry-After": str(exc.retry_after)}
    body = problem_fields(exc)
    return _response(body["status"], body, headers)


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errs = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errs):
        return problem(400, "invalid_json", "The request body is not valid JSON.")
    fields = []
    for e in errs:
        field = _field_path(tuple(e.get("loc", ())))
        message = str(e.get("msg", "is invalid"))
        fields.append(
            {
                "field": field,
                "code": str(e.get("type", "invalid")),
                "message": f"{field}: {message}",
            }
        )
    detail = " ".join(f["message"] for f in fields)
    return problem(422, "validation_error", detail, errors=fields)


def unparsable_body(cause: BaseException | None) -> str | None:
    """Why FastAPI could not parse a body, when the reason is the JSON itself.

    FastAPI answers a plain 400 for what ``json.loads`` raises besides a syntax error:
    invalid UTF-8, nesting past the interpreter's recursion limit, an integer over
    Python's digit limit. To a client these are all ``invalid_json``.
    """
    if isinstance(cause, UnicodeDecodeError):
        return "The request body is not valid JSON: it is not UTF-8."
    if isinstance(cause, RecursionError):
        return "The request body is not valid JSON here: it nests too deeply."
    if isinstance(cause, ValueError):  # syntax errors came earlier, as validation errors
        return "The request body is not valid JSON here: a number has too many digits."
    return None


def allowed_methods(request: Request) -> str | None:
    """Every method some route answers at this path, for a 405's ``Allow``.

    Starlette names only the methods of the first route whose path matched, but
    ``GET /v1/webhooks`` and ``POST /v1/webhooks`` are two routes of one resource.
    """
    methods: set[str] = set()
    for route in _every_route(request.app.router.routes):
        route_methods = getattr(route, "methods", None)
        if route_methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= set(route_methods)
    return ", ".join(sorted(methods)) if methods else None


def _every_route(routes: Sequence[BaseRoute]) -> Iterable[Any]:
    """The app's routes, through included routers (FastAPI >= 0.160 keeps them nested)."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    return routes if flatten is None else flatten(routes)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    reason = unparsable_body(exc.__cause__) if exc.status_code == 400 else None
    if reason is not None:
        return problem(400, "invalid_json", reason)
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
    headers = dict(exc.headers or {})
    allow = allowed_methods(request) if exc.status_code == 405 else None
    if allow is not None:
        headers["Allow"] = allow
    return problem(exc.status_code, code, detail, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(domain.HooklineError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
