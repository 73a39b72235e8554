"""SurveyCake surveys and the intake over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from hookline.app import create_app
from hookline.config import Settings
from hookline.devtools.fake_surveycake import FakeSurveyCake, demo_answer
from hookline.services.context import Context
from hookline.store.tables import audit_log, surveycake_notifications, surveycake_surveys
from tests.integration.conftest import OP, OPERATOR_TOKEN, PlatformHandle
from tests.integration.test_api_webhooks import assert_problem
from tests.support.hostile import form_body
from tests.support.process import wait_until

KEYS = {"hash_key": "0123456789abcdef", "iv_key": "fedcba9876543210"}
SURVEYS = "/v1/surveycake/surveys"


def connect(client: TestClient, p: PlatformHandle, **body: Any) -> dict[str, Any]:
    r = client.post(SURVEYS, json={"svid": "yPZQe", **KEYS, **body}, headers=p.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def post_intake(client: TestClient, url: str, **form: str) -> Any:
    return client.post(url.removeprefix("http://testserver"), data=form)


def notifications(ctx: Context) -> list[Any]:
    with ctx.db.read() as conn:
        return list(conn.execute(select(surveycake_notifications)).all())


def test_a_connected_survey_never_shows_its_keys(
    client: TestClient, platform: PlatformHandle, ctx: Context
) -> None:
    survey = connect(client, platform, name="會員調查")
    assert survey["svid"] == "yPZQe" and survey["name"] == "會員調查"
    assert survey["base_url"] == "https://www.surveycake.com"
    assert survey["intake_url"].startswith("http://testserver/intake/surveycake/")
    listed = client.get(SURVEYS, headers=platform.headers).json()
    assert listed["data"] == [survey] and listed["intake_url"] == survey["intake_url"]
    assert client.get(f"{SURVEYS}/yPZQe", headers=platform.headers).json() == survey
    for text in (str(survey), str(listed)):
        assert KEYS["hash_key"] not in text and KEYS["iv_key"] not in text
    with ctx.db.read() as conn:
        (sealed,) = conn.execute(select(surveycake_surveys.c.keys_ciphertext)).scalars()
    assert KEYS["hash_key"] not in sealed
    assert ctx.box.decrypt(sealed) == KEYS["hash_key"] + KEYS["iv_key"]


def test_the_intake_url_stays_until_rotated(client: TestClient, platform: PlatformHandle) -> None:
    first = client.get("/v1/surveycake/intake", headers=platform.headers).json()["intake_url"]
    assert (
        client.get("/v1/surveycake/intake", headers=platform.headers).json()["intake_url"] == first
    )
    connect(client, platform)
    r = client.post("/v1/surveycake/intake/rotate", headers=platform.headers)
    second = r.json()["intake_url"]
    assert second != first
    assert post_intake(client, first, svid="yPZQe", hash="a" * 32).status_code == 404
    assert post_intake(client, second, svid="yPZQe", hash="a" * 32).status_code == 200


def test_rotation_is_audited(client: TestClient, platform: PlatformHandle, ctx: Context) -> None:
    client.post("/v1/surveycake/intake/rotate", headers=platform.headers)
    with ctx.db.read() as conn:
        actions = list(conn.execute(select(audit_log.c.action)).scalars())
    assert "surveycake.intake.rotate" in actions


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"hash_key": "short"}, "hash_key", "invalid_key"),
        ({"iv_key": "0123456789abcdeé"}, "iv_key", "invalid_key"),
        ({"iv_key": "0123456789abcde\x00"}, "iv_key", "control_character"),
        ({"svid": "../../x"}, "svid", "invalid_svid"),
        ({"svid": "a" * 65}, "svid", "invalid_svid"),
        ({"base_url": "https://169.254.169.254"}, "base_url", "url_blocked_address"),
        ({"base_url": "ftp://example.com"}, "base_url", "url_scheme_not_allowed"),
        ({"base_url": "https://example.com/?a=1"}, "base_url", "url_invalid"),
        ({"name": "   "}, "name", "name_empty"),
    ],
)
def test_bad_surveys_are_refused_naming_the_field(
    client: TestClient,
    platform: PlatformHandle,
    ctx: Context,
    body: dict[str, str],
    field: str,
    code: str,
) -> None:
    r = client.post(SURVEYS, json={"svid": "yPZQe", **KEYS, **body}, headers=platform.headers)
    problem = assert_problem(r, 422, "validation_error")
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [(field, code)]
    with ctx.db.read() as conn:
        assert conn.execute(select(surveycake_surveys)).all() == []


def test_a_survey_is_connected_once(client: TestClient, platform: PlatformHandle) -> None:
    connect(client, platform)
    r = client.post(SURVEYS, json={"svid": "yPZQe", **KEYS}, headers=platform.headers)
    assert_problem(r, 409, "survey_exists")
    assert client.delete(f"{SURVEYS}/yPZQe", headers=platform.headers).status_code == 204
    assert_problem(
        client.get(f"{SURVEYS}/yPZQe", headers=platform.headers), 404, "survey_not_found"
    )
    connect(client, platform)  # and again, with new keys if need be


def test_platforms_see_only_their_own_surveys(client: TestClient, make_platform: Any) -> None:
    mine, theirs = make_platform(), make_platform()
    connect(client, mine)
    assert client.get(SURVEYS, headers=theirs.headers).json()["data"] == []
    for method in ("get", "delete"):
        r = client.request(method, f"{SURVEYS}/yPZQe", headers=theirs.headers)
        assert_problem(r, 404, "survey_not_found")
    r = client.get(
        f"{SURVEYS}/yPZQe/link", params={"line_uid": "U" + "0" * 32}, headers=theirs.headers
    )
    assert_problem(r, 404, "survey_not_found")
    assert client.get(f"{SURVEYS}/yPZQe", headers=mine.headers).status_code == 200
    # their intake does not reach my survey: the notification stays theirs, unknown
    url = client.get("/v1/surveycake/intake", headers=theirs.headers).json()["intake_url"]
    assert (
        post_intake(client, url, svid="yPZQe", hash="b" * 32).json()["status"] == "unknown_survey"
    )
    mine_seen = client.get("/v1/surveycake/notifications", headers=mine.headers).json()["data"]
    theirs_seen = client.get("/v1/surveycake/notifications", headers=theirs.headers).json()["data"]
    assert mine_seen == [] and len(theirs_seen) == 1


def test_the_link_prefills_the_line_friend(client: TestClient, platform: PlatformHandle) -> None:
    connect(client, platform, base_url="https://survey.example.com")
    uid = "U8934fa6cfd94060d8efeb32867d9715d"
    r = client.get(f"{SURVEYS}/yPZQe/link", params={"line_uid": uid}, headers=platform.headers)
    assert r.json() == {"url": f"https://survey.example.com/s/yPZQe?maac_member_line_uid={uid}"}
    bad = client.get(f"{SURVEYS}/yPZQe/link", params={"line_uid": "nope"}, headers=platform.headers)
    assert assert_problem(bad, 422, "validation_error")["errors"][0]["field"] == "line_uid"


def test_the_intake_commits_once_per_answer(
    client: TestClient, platform: PlatformHandle, ctx: Context
) -> None:
    url = connect(client, platform)["intake_url"]
    first = post_intake(client, url, svid="yPZQe", hash="5fd521e89436c471155f39de9c05bf4c")
    assert first.status_code == 200 and first.json()["status"] == "accepted"
    again = post_intake(client, url, svid="yPZQe", hash="5fd521e89436c471155f39de9c05bf4c")
    assert again.json() == {
        "status": "duplicate",
        "notification_id": first.json()["notification_id"],
    }
    (row,) = notifications(ctx)
    assert row.state == "pending" and row.next_attempt_at is not None


def test_an_unknown_survey_waits_visibly_until_connected(
    client: TestClient, platform: PlatformHandle, ctx: Context
) -> None:
    url = client.get("/v1/surveycake/intake", headers=platform.headers).json()["intake_url"]
    r = post_intake(client, url, svid="later", hash="c" * 32)
    assert r.status_code == 200 and r.json()["status"] == "unknown_survey"
    seen = client.get(
        "/v1/surveycake/notifications", params={"state": "unknown_survey"}, headers=platform.headers
    ).json()["data"]
    assert [n["error"] for n in seen] == ["unknown_survey"]
    connect(client, platform, svid="later")
    (row,) = notifications(ctx)
    assert row.state == "pending" and row.error is None


@pytest.mark.parametrize(
    "form",
    [
        {"svid": "yPZQe"},
        {"hash": "a" * 32},
        {"svid": "yPZQe", "hash": "../../admin"},
        {"svid": "y\x00", "hash": "a" * 32},
        {"svid": "yPZQe", "hash": "\ud800"},
        {"svid": "yPZQe", "hash": "a" * 129},
    ],
)
def test_hostile_notifications_change_nothing(
    client: TestClient, platform: PlatformHandle, ctx: Context, form: dict[str, str]
) -> None:
    url = connect(client, platform)["intake_url"].removeprefix("http://testserver")
    r = client.post(
        url, content=form_body(form), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 422, r.text
    assert notifications(ctx) == []


@pytest.mark.parametrize("token", ["nope", "x" * 500, "%00", "a" * 43])
def test_an_unknown_intake_token_is_404(
    client: TestClient, platform: PlatformHandle, token: str
) -> None:
    connect(client, platform)
    r = client.post(f"/intake/surveycake/{token}", data={"svid": "yPZQe", "hash": "a" * 32})
    assert r.status_code in (404, 422), r.text


def test_serves_embedded_worker_fetches_and_publishes(ctx: Context, clock: Any) -> None:
    """``serve --workers 0``: the SurveyCake job runs beside the in-process worker."""
    settings = Settings(operator_token=SecretStr(OPERATOR_TOKEN), poll_interval=0.2)
    fake = FakeSurveyCake()
    with fake.running(), TestClient(create_app(settings, ctx, embedded_worker=True)) as client:
        r = client.post("/v1/admin/platforms", json={"name": "Coffee"}, headers=OP)
        p = PlatformHandle(r.json()["id"], r.json()["api_token"])
        fake.add_survey("yPZQe", KEYS["hash_key"], KEYS["iv_key"])
        url = connect(client, p, base_url=fake.base_url)["intake_url"]
        answer_hash = fake.submit("yPZQe", demo_answer(svid="yPZQe"))
        assert post_intake(client, url, svid="yPZQe", hash=answer_hash).status_code == 200

        def published() -> bool:
            seen = client.get("/v1/surveycake/notifications", headers=p.headers).json()["data"]
            return bool(seen) and seen[0]["state"] == "published"

        wait_until("the answer published", published, timeout=20)
    assert fake.queries == [f"yPZQe/{answer_hash}"]
