"""A Flask view decorator that hands the view the verified, parsed event.

::

    from flask import Flask
    from hookline.receiver import Event
    from hookline.receiver.flask import verified

    app = Flask(__name__)

    @app.post("/hooks/maac")
    @verified("whsec_...")
    def hook(event: Event) -> str:
        return "OK"

The event is passed as the view's first argument (URL variables follow as keyword
arguments) and also left in ``flask.g.hookline_event`` for code deeper down. A refused
request is answered ``{"error": <code>, "message": <text>}`` with the exception's
status and never reaches the view.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from typing import Concatenate, ParamSpec, TypeVar, cast

from flask import abort, current_app, g, jsonify, make_response, request

from hookline.receiver import Event, Scheme, WebhookError
from hookline.receiver._framework import EVENT_ATTRIBUTE, Checker, SecretSource
from hookline.receiver._verify import DEFAULT_TOLERANCE

P = ParamSpec("P")
R = TypeVar("R")


def verified(
    secret: SecretSource,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    schemes: Collection[Scheme] | None = None,
) -> Callable[[Callable[Concatenate[Event, P], R]], Callable[P, R]]:
    """Decorate a view so it runs only for genuine requests, with their event."""
    check = Checker(secret, tolerance, schemes)

    def decorate(view: Callable[Concatenate[Event, P], R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                event = check(request.get_data(cache=True), request.headers)
            except WebhookError as exc:
                abort(make_response(jsonify(exc.to_dict()), exc.http_status))
            setattr(g, EVENT_ATTRIBUTE, event)
            # ensure_sync lets the decorator wrap ``async def`` views as Flask allows.
            return cast(R, current_app.ensure_sync(view)(event, *args, **kwargs))

        return wrapper

    return decorate


__all__ = ["verified"]
