"""A webhook's delivery controls as they are saved: checked, sealed, turned into columns.

Every entry point (API, dashboard) hands the fields the caller gave, by name; a field
given as ``None`` goes back to the platform's default, a field not given is kept. The
answer is the column values to write, so the store never sees a header in clear.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from hookline.catalog import TOPICS
from hookline.domain import controls
from hookline.domain.controls import MASK, FilterValue, Ordering
from hookline.domain.errors import FieldError, InvalidInput
from hookline.domain.models import Webhook
from hookline.domain.retry import RetryPolicy
from hookline.services.context import Context
from hookline.store import webhooks as webhook_store

FIELDS = (
    "headers",
    "timeout_seconds",
    "retry_policy",
    "filter",
    "ordering",
    "rate_limit_per_second",
)
FIFO_ENFORCED = True
MIN_RATE_LIMIT = 1
MAX_RATE_LIMIT = 1000


def _raise(found: list[tuple[str, str, str]]) -> None:
    if found:
        raise InvalidInput([FieldError(*f) for f in found])


def _headers(
    ctx: Context, value: Any, kept: Mapping[str, str] | None
) -> tuple[str | None, str | None]:
    """(sealed JSON, names JSON). A value given as the mask keeps the saved one: the
    dashboard and API never show it again, so a form sent back unchanged must not
    overwrite it with asterisks."""
    if value is None or value == {}:
        return None, None
    if not isinstance(value, Mapping):
        _raise([("headers", "invalid_headers", "headers must be an object of name: value.")])
    saved = {k.lower(): v for k, v in (kept or {}).items()}
    headers = {
        name: saved[name.lower()] if v == MASK and name.lower() in saved else v
        for name, v in value.items()
    }
    _raise(controls.header_refusals(headers))
    return ctx.box.encrypt(json.dumps(headers)), json.dumps(list(headers))


def _filter(value: Any, topics: Sequence[str]) -> str | None:
    if value is None or value == {}:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        _raise([("filter", "invalid_filter", "filter must be an object of field: values.")])
    flt, found = controls.filter_shape_refusals(value)
    _raise(found)
    _raise(controls.filter_schema_refusals(flt, {t: TOPICS[t].schema for t in topics}))
    return json.dumps({k: list(v) for k, v in flt.items()}, sort_keys=True)


def _choice(value: Any, field: str, kinds: type[RetryPolicy] | type[Ordering]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in {k.value for k in kinds}:
        allowed = " or ".join(repr(k.value) for k in kinds)
        _raise([(field, "invalid_choice", f"{field} must be {allowed}.")])
    return str(value)


NOT_ENFORCED = " is not enforced by this version yet; it is refused rather than saved and ignored."


def _ordering(value: Any) -> str | None:
    chosen = _choice(value, "ordering", Ordering)
    if chosen == Ordering.FIFO.value and not FIFO_ENFORCED:
        _raise([("ordering", "not_supported", "ordering: fifo" + NOT_ENFORCED)])
    return chosen


def _rate(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        _raise(
            [
                (
                    "rate_limit_per_second",
                    "not_an_integer",
                    "rate_limit_per_second must be a whole number.",
                )
            ]
        )
    if not MIN_RATE_LIMIT <= value <= MAX_RATE_LIMIT:
        _raise(
            [
                (
                    "rate_limit_per_second",
                    "out_of_range",
                    f"rate_limit_per_second must be between {MIN_RATE_LIMIT} and {MAX_RATE_LIMIT}.",
                )
            ]
        )
    return int(value)


def clean(
    ctx: Context,
    given: Mapping[str, Any],
    topics: Sequence[str],
    *,
    kept_headers: Mapping[str, str] | None = None,
    kept_filter: Mapping[str, Sequence[FilterValue]] | None = None,
) -> dict[str, Any]:
    """Column values for the controls in ``given``; every refusal at once.

    ``topics`` are the webhook's topics after the change: a kept filter is checked
    again against them (a new topic may lack a filtered field).
    """
    errors: list[FieldError] = []

    def run(field: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except InvalidInput as exc:
            errors.extend(exc.errors)
            return None

    values: dict[str, Any] = {}
    if "headers" in given:
        sealed = run("headers", _headers, ctx, given["headers"], kept_headers)
        values["headers_sealed"], values["header_names"] = sealed or (None, None)
    if "timeout_seconds" in given:
        t = given["timeout_seconds"]
        errors.extend(FieldError(*f) for f in ([] if t is None else controls.timeout_refusals(t)))
        values["timeout_seconds"] = t
    if "retry_policy" in given:
        values["retry_policy"] = run(
            "retry_policy", _choice, given["retry_policy"], "retry_policy", RetryPolicy
        )
    if "filter" in given or kept_filter:
        flt = (
            given["filter"]
            if "filter" in given
            else {k: list(v) for k, v in (kept_filter or {}).items()}
        )
        values["event_filter"] = run("filter", _filter, flt, topics)
    if "ordering" in given:
        values["ordering"] = run("ordering", _ordering, given["ordering"]) or "none"
    if "rate_limit_per_second" in given:
        values["rate_limit_per_second"] = run(
            "rate_limit_per_second", _rate, given["rate_limit_per_second"]
        )
    if errors:
        raise InvalidInput(errors)
    return values


def open_headers(ctx: Context, sealed: str | None) -> dict[str, str]:
    """The saved extra headers in clear: only for sending and for keeping masked values."""
    if not sealed:
        return {}
    opened: dict[str, str] = json.loads(ctx.box.decrypt(sealed))
    return opened


def masked_headers(webhook: Webhook) -> dict[str, str]:
    """What an answer or a page shows of the extra headers: names, never values."""
    return dict.fromkeys(webhook.header_names, MASK)


def changes(
    ctx: Context,
    conn: Connection,
    webhook: Webhook,
    given: Mapping[str, Any],
    topics: Sequence[str] | None,
) -> dict[str, Any]:
    """Column values for a change of controls; a kept filter is checked again when the
    topics change, and masked header values keep what was saved."""
    changed_topics = topics is not None and tuple(topics) != webhook.topics
    if not given and not (changed_topics and webhook.event_filter):
        return {}
    kept = None
    if "headers" in given and webhook.header_names:
        kept = open_headers(ctx, webhook_store.sealed_headers(conn, webhook.id))
    return clean(
        ctx,
        given,
        topics if topics is not None else webhook.topics,
        kept_headers=kept,
        kept_filter=webhook.event_filter if changed_topics else None,
    )
