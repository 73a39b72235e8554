"""hookline.receiver.django: the decorator, exercised through Django's own test client.

Django is configured here, in the test, with the CSRF middleware on and enforced, to
show the decorator's CSRF exemption is what lets the sender in. This module is its own
URLconf.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import django
import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client
from django.urls import path

from hookline.receiver import Event, PrizePointsAddedEvent
from hookline.receiver.django import verified
from tests.receiver.support import OTHER_SECRET, SECRET, body_of, signed

TOPIC = "prize.points_added"
seen: list[Event] = []


@verified(SECRET)
def hook(request: HttpRequest, event: Event) -> JsonResponse:
    seen.append(event)
    assert request.hookline_event is event
    return JsonResponse({"topic": event.topic, "key": event.idempotency_key})


@verified(lambda: SECRET, schemes=["maac", "standard"])
def tenant_hook(request: HttpRequest, event: Event, tenant: str) -> HttpResponse:
    return HttpResponse(f"{tenant}:{event.topic}")


@verified(SECRET)
async def async_hook(request: HttpRequest, event: Event) -> HttpResponse:
    return HttpResponse(event.topic)


def unprotected(request: HttpRequest) -> HttpResponse:
    return HttpResponse("OK")


urlpatterns = [
    path("hook", hook),
    path("tenants/<str:tenant>/hook", tenant_hook),
    path("async", async_hook),
    path("unprotected", unprotected),
]


@pytest.fixture(scope="module", autouse=True)
def configured() -> None:
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="receiver-tests",
            ROOT_URLCONF=__name__,
            ALLOWED_HOSTS=["testserver"],
            INSTALLED_APPS=[],
            MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
            USE_TZ=True,
        )
        django.setup()


@pytest.fixture
def client() -> Iterator[Client]:
    seen.clear()
    yield Client(enforce_csrf_checks=True)
    seen.clear()


def post(client: Client, url: str, body: bytes, headers: dict[str, str]) -> Any:
    sent = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    return client.post(url, data=body, content_type="application/json", headers=sent)


def now() -> int:
    return int(time.time())


def test_csrf_is_enforced_for_ordinary_views(client: Client) -> None:
    body = body_of(TOPIC)
    assert post(client, "/unprotected", body, signed(body, at=now())).status_code == 403


def test_genuine_request_reaches_the_view_with_its_event(client: Client) -> None:
    body = body_of(TOPIC)
    headers = signed(body, at=now())
    r = post(client, "/hook", body, headers)
    assert r.status_code == 200, r.content
    assert r.json() == {"topic": TOPIC, "key": headers["CrescLab-Idempotency-Key"]}
    (event,) = seen
    assert isinstance(event, PrizePointsAddedEvent) and event.data.points_count == 200


def test_url_arguments_follow_the_event(client: Client) -> None:
    body = body_of(TOPIC)
    r = post(client, "/tenants/coffee/hook", body, signed(body, at=now()))
    assert r.status_code == 200 and r.content.decode() == f"coffee:{TOPIC}"


def test_async_views_are_supported(client: Client) -> None:
    body = body_of(TOPIC)
    r = post(client, "/async", body, signed(body, at=now()))
    assert r.status_code == 200 and r.content.decode() == TOPIC
    r = post(client, "/async", body, signed(body, [OTHER_SECRET], at=now()))
    assert r.status_code == 401 and r.json()["error"] == "invalid_signature"


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("no-headers", 400, "missing_header"),
        ("bad-timestamp", 400, "malformed_header"),
        ("wrong-secret", 401, "invalid_signature"),
        ("future", 401, "timestamp_too_new"),
    ],
)
def test_refusals_answer_json_and_skip_the_view(
    client: Client, case: str, status: int, code: str
) -> None:
    body = body_of(TOPIC)
    headers = {
        "no-headers": {},
        "bad-timestamp": {**signed(body, at=now()), "webhook-timestamp": "soon"},
        "wrong-secret": signed(body, [OTHER_SECRET], at=now()),
        "future": signed(body, at=now() + 3600),
    }[case]
    r = post(client, "/hook", body, headers)
    assert r.status_code == status
    assert r["Content-Type"] == "application/json"
    assert r.json()["error"] == code and r.json()["message"]
    assert seen == []


def test_genuine_but_unparsable_body_is_400(client: Client) -> None:
    body = b'{"topic": "prize.points_added", "timestamp": "2026-11-29T12:00:00+08:00", "data": 1}'
    r = post(client, "/hook", body, signed(body, at=now()))
    assert r.status_code == 400 and r.json()["error"] == "invalid_payload"


def test_schemes_option_is_applied(client: Client) -> None:
    body = body_of(TOPIC)
    standard_only = {k: v for k, v in signed(body, at=now()).items() if "CrescLab" not in k}
    r = post(client, "/tenants/coffee/hook", body, standard_only)
    assert r.status_code == 400 and r.json()["error"] == "missing_header"
    assert "CrescLab-Signature" in r.json()["message"]
