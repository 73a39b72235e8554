"""A Django view decorator that hands the view the verified, parsed event.

::

    from django.http import HttpResponse
    from hookline.receiver.django import verified

    @verified(lambda: settings.HOOKLINE_WEBHOOK_SECRET)
    def hook(request, event):
        return HttpResponse("OK")

The event is passed as the argument after ``request`` (URL arguments follow) and also
set as ``request.hookline_event``. The view is made CSRF-exempt, because the sender
cannot hold a CSRF token; the signature is what authenticates the request. A refused
request is answered ``{"error": <code>, "message": <text>}`` with the exception's
status and never reaches the view. ``async def`` views work too.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from django.http import HttpRequest, JsonResponse

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
) -> Callable[
    [Callable[Concatenate[HttpRequest, Event, P], R]], Callable[Concatenate[HttpRequest, P], R]
]:
    """Decorate a function view so it runs only for genuine requests, with their event."""
    check = Checker(secret, tolerance, schemes)

    def refusal_or_event(request: HttpRequest) -> tuple[Any, Event | None]:
        try:
            event = check(request.body, request.headers)
        except WebhookError as exc:
            return JsonResponse(exc.to_dict(), status=exc.http_status), None
        setattr(request, EVENT_ATTRIBUTE, event)
        return None, event

    def decorate(
        view: Callable[Concatenate[HttpRequest, Event, P], R],
    ) -> Callable[Concatenate[HttpRequest, P], R]:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(
                request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs
            ) -> Any:
                refusal, event = refusal_or_event(request)
                if event is None:
                    return refusal
                return await cast(Any, view)(request, event, *args, **kwargs)

            return cast(Callable[Concatenate[HttpRequest, P], R], _csrf_exempt(async_wrapper))

        @functools.wraps(view)
        def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> R:
            refusal, event = refusal_or_event(request)
            if event is None:
                return cast(R, refusal)
            return view(request, event, *args, **kwargs)

        return _csrf_exempt(wrapper)

    return decorate


F = TypeVar("F", bound=Callable[..., Any])


def _csrf_exempt(view: F) -> F:
    """What ``django.views.decorators.csrf.csrf_exempt`` does, minus its wrapper.

    The middleware only reads this attribute; setting it directly keeps an ``async def``
    view a coroutine function on Django 4.2, whose ``csrf_exempt`` wraps it in a sync one.
    """
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


__all__ = ["verified"]
