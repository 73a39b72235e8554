"""What the OpenAPI document says a route can answer besides success, built from the causes.

A route lists what can go wrong (domain errors, and the few answers the HTTP layer
gives itself: a body that is not JSON, storage that cannot be reached); ``answers``
turns them into the ``responses=`` FastAPI documents, each status once, with every
code it may carry, as ``application/problem+json`` with the ``Problem`` schema. The
statuses come from ``hookline.http.status``, the table the error handlers use, so the
document cannot say one status while the server sends another.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from hookline.api.errors import TITLES
from hookline.api.schemas.common import SAFE_PATTERN
from hookline.api.schemas.problem import Problem
from hookline.domain import errors as domain
from hookline.http.status import status_for

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


@dataclass(frozen=True)
class Answer:
    """A problem the HTTP layer answers itself, with no domain error behind it."""

    status: int
    code: str


INVALID_JSON = Answer(400, "invalid_json")
# A storage fault (disk full, database gone) on any route that reads or writes.
STORAGE_UNAVAILABLE = Answer(503, "storage_unavailable")

Cause = type[domain.HooklineError] | Answer

_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
}


def _status_and_code(cause: Cause) -> tuple[int, str]:
    if isinstance(cause, Answer):
        return cause.status, cause.code
    return status_for(cause), cause.code


def answers(*causes: Cause) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a router or a route: one problem+json answer per status."""
    codes: dict[int, list[str]] = defaultdict(list)
    for cause in causes:
        status, code = _status_and_code(cause)
        if code not in codes[status]:
            codes[status].append(code)
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted(codes):
        listed = ", ".join(f"`{code}`" for code in codes[status])
        response: dict[str, Any] = {
            "description": f"{TITLES.get(status, 'Error')}: {listed}.",
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
        }
        if status in _HEADERS:
            response["headers"] = _HEADERS[status]
        out[status] = response
    return out


class Answers:
    """The causes every route of a router shares; called with a route's own, its ``responses=``."""

    def __init__(self, *shared: Cause) -> None:
        self.shared = shared

    def __call__(self, *own: Cause) -> dict[int | str, dict[str, Any]]:
        return answers(*self.shared, *own)


# What any route with a JSON body can also answer: not JSON, too big, not valid.
BODY: tuple[Cause, ...] = (INVALID_JSON, domain.PayloadTooLarge, domain.InvalidInput)


def _problem_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    nested = schema.pop("$defs", {})
    return {**nested, "Problem": schema}


def _state_safe_path_text(paths: dict[str, Any]) -> None:
    """Every API router refuses unsafe text in any path parameter (``api.params.SafePath``)."""
    for operations in paths.values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "path" and schema.get("type") == "string":
                    schema.setdefault("pattern", SAFE_PATTERN)


def install(app: FastAPI) -> None:
    """Complete the document once, when it is first built: the ``Problem`` schema the
    answers refer to, and the rule every path parameter is held to."""
    build = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {})
            components.setdefault("schemas", {}).update(_problem_schemas())
            _state_safe_path_text(schema.get("paths", {}))
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
