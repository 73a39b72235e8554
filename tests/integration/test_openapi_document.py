"""What /openapi.json promises, checked directly (the fuzzer checks it against answers).

Every error answer is a problem document with the schema api/errors writes, each
authenticated route says it can refuse its token, each route with a body says it can
refuse the body, and the dashboard stays out of the document. The last tests are the
server bugs schemathesis found, each as one request.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.integration.conftest import OP, PlatformHandle, webhook_body

PROBLEM = "application/problem+json"
API_PREFIXES = ("/v1/", "/internal/v1/")


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def test_only_the_api_is_in_the_document(document: dict[str, Any]) -> None:
    outside = [p for p in document["paths"] if not p.startswith((*API_PREFIXES, "/healthz"))]
    assert outside == ["/readyz"]


def test_every_error_answer_of_the_api_is_a_problem(document: dict[str, Any]) -> None:
    for label, path, operation in operations(document):
        if not path.startswith(API_PREFIXES):
            continue
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {
                    PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (label, status)


def test_each_route_declares_what_it_can_refuse(document: dict[str, Any]) -> None:
    for label, path, operation in operations(document):
        if not path.startswith(API_PREFIXES):
            continue
        declared = set(operation["responses"])
        assert {"401", "422", "503"} <= declared, label  # token, input, storage
        if "requestBody" in operation:
            assert {"400", "413"} <= declared, label  # not JSON, too big
        if "{" in path and not path.startswith("/internal/"):
            assert "404" in declared, label


def test_constraints_the_server_enforces_are_stated(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    webhook = schemas["WebhookCreate"]["properties"]
    assert webhook["topics"]["minItems"] == 1
    assert webhook["name"]["maxLength"] == 100
    limit = next(
        p for p in document["paths"]["/v1/webhooks"]["get"]["parameters"] if p["name"] == "limit"
    )
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)
    zone_path = document["paths"]["/v1/admin/platforms/{platform_id}/zones/{zone}"]["put"]
    zone = next(p for p in zone_path["parameters"] if p["name"] == "zone")
    assert zone["schema"]["enum"] == [1, 2, 3]


def test_a_problem_answer_matches_the_problem_schema(
    client: TestClient, document: dict[str, Any], platform: PlatformHandle
) -> None:
    registry: Registry[Any] = Registry().with_resource(
        "urn:hookline:openapi", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    problem = jsonschema.Draft202012Validator(
        {"$ref": "urn:hookline:openapi#/components/schemas/Problem"}, registry=registry
    )
    answers = [
        client.get("/v1/webhooks/wh_nope", headers=platform.headers),
        client.post("/v1/webhooks", json=webhook_body(topics=[]), headers=platform.headers),
        client.get("/v1/webhooks"),
    ]
    for r in answers:
        assert r.headers["content-type"] == PROBLEM
        problem.validate(r.json())


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/admin/platforms/{platform}/zones/1", {"valid_until": 0}),
        ("/v1/admin/platforms/{platform}/zones/1", {"valid_until": "1800000000"}),
    ],
)
def test_a_time_given_as_a_number_is_refused(
    client: TestClient, platform: PlatformHandle, path: str, body: dict[str, Any]
) -> None:
    """Pydantic read numbers as seconds since 1970; the schema says ISO 8601 text."""
    r = client.put(path.format(platform=platform.id), json=body, headers=OP)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["code"] == "datetime_type"


def test_a_window_bound_given_as_a_number_is_refused(
    client: TestClient, platform: PlatformHandle
) -> None:
    hook = client.post("/v1/webhooks", json=webhook_body(), headers=platform.headers).json()
    listed = client.get(
        f"/v1/webhooks/{hook['id']}/deliveries", params={"until": "0.5"}, headers=platform.headers
    )
    recovered = client.post(
        f"/v1/webhooks/{hook['id']}/recover", json={"since": 0}, headers=platform.headers
    )
    assert (listed.status_code, recovered.status_code) == (422, 422)


@pytest.mark.parametrize(("grace", "status"), [(True, 422), ("60", 422), (60.0, 200)])
def test_an_integer_is_what_json_schema_calls_one(
    client: TestClient, platform: PlatformHandle, grace: Any, status: int
) -> None:
    hook = client.post("/v1/webhooks", json=webhook_body(), headers=platform.headers).json()
    r = client.post(
        f"/v1/webhooks/{hook['id']}/secret/rotate",
        json={"expire_old_after_seconds": grace},
        headers=platform.headers,
    )
    assert r.status_code == status, r.text


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/v1/webhooks", "GET, POST"),
        ("PUT", "/v1/webhooks/wh_x", "DELETE, GET, PATCH"),
        ("DELETE", "/v1/platform", "GET, PATCH"),
    ],
)
def test_a_405_names_every_method_of_the_resource(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    r = client.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
