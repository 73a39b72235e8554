"""Dashboard users, logins, throttling and sessions: services and operator API, both backends."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from hookline.domain.errors import (
    EmailTaken,
    InvalidInput,
    InvalidLogin,
    LoginThrottled,
    PlatformNotFound,
    UserNotFound,
)
from hookline.domain.models import Role, User
from hookline.domain.secrets import hash_token
from hookline.services import platforms, users
from hookline.services.context import Context
from hookline.store.tables import audit_log, login_failures, sessions
from hookline.store.tables import users as users_table
from tests.conftest import FakeClock
from tests.integration.conftest import OP, PlatformHandle
from tests.integration.test_api_webhooks import assert_problem
from tests.support.engine import make_worker

PASSWORD = "correct horse battery"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its real cost would make the many logins here slow; the rules are the same."""
    monkeypatch.setattr(users, "HASHER", CHEAP)


@pytest.fixture
def platform_id(ctx: Context) -> str:
    return platforms.create_platform(ctx, "Coffee").platform.id


def member(ctx: Context, platform_id: str, email: str = "Ann@Example.com") -> User:
    return users.create_user(
        ctx, email=email, password=PASSWORD, role=Role.MEMBER, platform_id=platform_id
    )


def password_hash_of(ctx: Context, user_id: str) -> str:
    with ctx.db.read() as conn:
        row = conn.execute(
            select(users_table.c.password_hash).where(users_table.c.id == user_id)
        ).one()
    return str(row.password_hash)


# --- accounts ---------------------------------------------------------------------


def test_create_member_and_operator(ctx: Context, platform_id: str) -> None:
    ann = member(ctx, platform_id)
    assert ann.id.startswith("usr_")
    assert (ann.email, ann.role, ann.platform_id) == ("ann@example.com", Role.MEMBER, platform_id)
    assert not ann.is_operator
    op = users.create_user(
        ctx, email="ops@example.com", password=PASSWORD, role="operator", platform_id=None
    )
    assert op.is_operator and op.platform_id is None
    assert users.get_user(ctx, ann.id) == ann
    stored = password_hash_of(ctx, ann.id)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with ctx.db.read() as conn:
        audits = conn.execute(select(audit_log).where(audit_log.c.action == "user.create")).all()
    assert {(a.target_id, a.platform_id) for a in audits} == {
        (ann.id, platform_id),
        (op.id, None),
    }


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"email": "not-an-email"}, ["email"]),
        ({"email": "a@b"}, ["email"]),
        ({"email": "x" * 250 + "@example.com"}, ["email"]),
        ({"password": "short"}, ["password"]),
        ({"password": "x" * 1025}, ["password"]),
        ({"role": "admin"}, ["role"]),
        ({"platform_id": None}, ["platform_id"]),
        ({"role": Role.OPERATOR}, ["platform_id"]),
        ({"email": "nope", "password": "short"}, ["email", "password"]),
    ],
)
def test_bad_user_input_names_the_field(
    ctx: Context, platform_id: str, kwargs: dict[str, Any], fields: list[str]
) -> None:
    args: dict[str, Any] = {
        "email": "ann@example.com",
        "password": PASSWORD,
        "role": Role.MEMBER,
        "platform_id": platform_id,
        **kwargs,
    }
    with pytest.raises(InvalidInput) as caught:
        users.create_user(ctx, **args)
    assert [e.field for e in caught.value.errors] == fields
    assert users.list_users(ctx, platform_id) == []


def test_member_of_an_unknown_platform_is_404(ctx: Context) -> None:
    with pytest.raises(PlatformNotFound):
        member(ctx, "pf_nope")
    with pytest.raises(PlatformNotFound):
        users.list_users(ctx, "pf_nope")


def test_duplicate_email_ignores_case(ctx: Context, platform_id: str) -> None:
    member(ctx, platform_id, "ann@example.com")
    with pytest.raises(EmailTaken) as caught:
        member(ctx, platform_id, " ANN@example.com ")
    assert caught.value.field == "email"
    assert len(users.list_users(ctx, platform_id)) == 1


def test_list_users_keeps_platforms_apart(ctx: Context, platform_id: str) -> None:
    other = platforms.create_platform(ctx, "Tea").platform.id
    ann = member(ctx, platform_id, "ann@example.com")
    bob = member(ctx, other, "bob@example.com")
    op = users.create_user(
        ctx, email="ops@example.com", password=PASSWORD, role=Role.OPERATOR, platform_id=None
    )
    assert users.list_users(ctx, platform_id) == [ann]
    assert users.list_users(ctx, other) == [bob]
    assert users.list_users(ctx, None) == [op]


def test_delete_user_ends_sessions(ctx: Context, platform_id: str) -> None:
    ann = member(ctx, platform_id)
    session = users.login(ctx, ann.email, PASSWORD)
    users.delete_user(ctx, ann.id)
    assert users.session_user(ctx, session.token) is None
    assert users.list_users(ctx, platform_id) == []
    with pytest.raises(UserNotFound):
        users.delete_user(ctx, ann.id)
    with pytest.raises(UserNotFound):
        users.get_user(ctx, ann.id)


def test_set_password_ends_sessions(ctx: Context, platform_id: str) -> None:
    ann = member(ctx, platform_id)
    session = users.login(ctx, ann.email, PASSWORD)
    users.set_password(ctx, ann.id, "a brand new password")
    assert users.session_user(ctx, session.token) is None
    with pytest.raises(InvalidLogin):
        users.login(ctx, ann.email, PASSWORD)
    assert users.login(ctx, ann.email, "a brand new password").user == ann


# --- logins and sessions ----------------------------------------------------------


def test_login_gives_a_session_stored_only_hashed(
    ctx: Context, platform_id: str, clock: FakeClock
) -> None:
    ann = member(ctx, platform_id)
    result = users.login(ctx, "  ANN@example.com", PASSWORD)
    assert result.user == ann
    assert result.token.startswith("hls_") and len(result.token) > 40
    assert result.expires_at == clock.now + users.SESSION_LIFETIME
    assert users.session_user(ctx, result.token) == ann
    with ctx.db.read() as conn:
        stored = [row.token_hash for row in conn.execute(select(sessions)).all()]
        last_login = conn.execute(select(users_table.c.last_login_at)).scalar_one()
    assert stored == [hash_token(result.token)]
    assert last_login == clock.now


@pytest.mark.parametrize("email", ["ann@example.com", "nobody@example.com"])
def test_wrong_password_and_unknown_email_look_the_same(
    ctx: Context, platform_id: str, email: str
) -> None:
    member(ctx, platform_id)
    with pytest.raises(InvalidLogin) as caught:
        users.login(ctx, email, "wrong password!")
    assert caught.value.message == "The email or password is not correct."
    assert "nobody" not in caught.value.message


def test_unknown_email_still_spends_a_hash(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            calls.append("verify")
            return super().verify(hash, password)

    monkeypatch.setattr(users, "HASHER", Counting(time_cost=1, memory_cost=1024, parallelism=1))
    with pytest.raises(InvalidLogin):
        users.login(ctx, "nobody@example.com", PASSWORD)
    assert calls == ["verify"]


def test_throttle_after_three_failures(ctx: Context, platform_id: str, clock: FakeClock) -> None:
    member(ctx, platform_id)
    for _ in range(3):
        with pytest.raises(InvalidLogin):
            users.login(ctx, "ann@example.com", "wrong password!")
    # 3 failures: the next attempt waits 1 s, and is refused unchecked, even when right
    with pytest.raises(LoginThrottled) as caught:
        users.login(ctx, "ann@example.com", PASSWORD)
    assert caught.value.retry_after == 1
    clock.advance(seconds=1)
    with pytest.raises(InvalidLogin):
        users.login(ctx, "ANN@example.com", "wrong password!")
    # 4 failures: 2 s
    clock.advance(seconds=1)
    with pytest.raises(LoginThrottled) as caught:
        users.login(ctx, "ann@example.com", PASSWORD)
    assert caught.value.retry_after == 1
    clock.advance(seconds=1)
    assert users.login(ctx, "ann@example.com", PASSWORD).user.email == "ann@example.com"
    # success reset the count: three more failures before any wait
    for _ in range(3):
        with pytest.raises(InvalidLogin):
            users.login(ctx, "ann@example.com", "wrong password!")
    with pytest.raises(LoginThrottled):
        users.login(ctx, "ann@example.com", PASSWORD)


def test_throttle_refusals_do_not_count(ctx: Context, platform_id: str, clock: FakeClock) -> None:
    member(ctx, platform_id)
    for _ in range(3):
        with pytest.raises(InvalidLogin):
            users.login(ctx, "ann@example.com", "wrong password!")
    for _ in range(5):
        with pytest.raises(LoginThrottled):
            users.login(ctx, "ann@example.com", "wrong password!")
    with ctx.db.read() as conn:
        assert conn.execute(select(login_failures.c.failures)).scalar_one() == 3


def test_wait_doubles_up_to_five_minutes(ctx: Context, clock: FakeClock) -> None:
    assert [users.login_wait(n) for n in range(12)] == [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert users.login_wait(12) == users.login_wait(100) == 300
    for _ in range(12):  # unknown emails are throttled the same way
        clock.advance(seconds=300)
        with pytest.raises(InvalidLogin):
            users.login(ctx, "nobody@example.com", PASSWORD)
    with pytest.raises(LoginThrottled) as caught:
        users.login(ctx, "nobody@example.com", PASSWORD)
    assert caught.value.retry_after == 300
    clock.advance(seconds=299.5)
    with pytest.raises(LoginThrottled) as caught:
        users.login(ctx, "nobody@example.com", PASSWORD)
    assert caught.value.retry_after == 1


def test_throttle_is_per_email(ctx: Context, platform_id: str) -> None:
    member(ctx, platform_id, "ann@example.com")
    member(ctx, platform_id, "bob@example.com")
    for _ in range(3):
        with pytest.raises(InvalidLogin):
            users.login(ctx, "ann@example.com", "wrong password!")
    assert users.login(ctx, "bob@example.com", PASSWORD).user.email == "bob@example.com"


def test_session_ends_after_twelve_hours(ctx: Context, platform_id: str, clock: FakeClock) -> None:
    member(ctx, platform_id)
    token = users.login(ctx, "ann@example.com", PASSWORD).token
    clock.advance(hours=11, minutes=59)
    assert users.session_user(ctx, token) is not None  # use does not extend it
    clock.advance(minutes=1)
    assert users.session_user(ctx, token) is None
    assert users.session_user(ctx, "hls_unknown") is None
    assert users.session_user(ctx, "") is None
    users.login(ctx, "ann@example.com", PASSWORD)  # a new login sweeps the expired one
    with ctx.db.read() as conn:
        assert len(conn.execute(select(sessions)).all()) == 1


def test_session_last_seen_is_written_at_most_each_minute(
    ctx: Context, platform_id: str, clock: FakeClock
) -> None:
    member(ctx, platform_id)
    login_at = clock.now
    token = users.login(ctx, "ann@example.com", PASSWORD).token

    def last_seen() -> Any:
        with ctx.db.read() as conn:
            return conn.execute(select(sessions.c.last_seen_at)).scalar_one()

    clock.advance(seconds=30)
    users.session_user(ctx, token)
    assert last_seen() == login_at
    clock.advance(seconds=30)
    users.session_user(ctx, token)
    assert last_seen() == clock.now


def test_logout(ctx: Context, platform_id: str) -> None:
    member(ctx, platform_id)
    first = users.login(ctx, "ann@example.com", PASSWORD).token
    second = users.login(ctx, "ann@example.com", PASSWORD).token
    users.logout(ctx, first)
    assert users.session_user(ctx, first) is None
    assert users.session_user(ctx, second) is not None  # other browsers stay logged in
    users.logout(ctx, first)  # twice is fine
    users.logout(ctx, "")


def test_an_outdated_hash_is_upgraded_at_login(
    ctx: Context, platform_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = member(ctx, platform_id)
    before = password_hash_of(ctx, ann.id)
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    monkeypatch.setattr(users, "HASHER", stronger)
    users.login(ctx, ann.email, PASSWORD)
    after = password_hash_of(ctx, ann.id)
    assert after != before and not stronger.check_needs_rehash(after)
    assert users.login(ctx, ann.email, PASSWORD).user == ann


# --- operator API -----------------------------------------------------------------


def test_api_create_and_list_users(client: TestClient, platform: PlatformHandle) -> None:
    url = f"/v1/admin/platforms/{platform.id}/users"
    r = client.post(url, json={"email": "Ann@Example.com", "password": PASSWORD}, headers=OP)
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"id", "email", "role", "platform_id", "created_at"}
    assert (body["email"], body["role"], body["platform_id"]) == (
        "ann@example.com",
        "member",
        platform.id,
    )
    listed = client.get(url, headers=OP)
    assert listed.status_code == 200 and listed.json() == [body]
    assert "argon2" not in r.text + listed.text and PASSWORD not in r.text + listed.text
    r = client.post(url, json={"email": "ann@example.com", "password": PASSWORD}, headers=OP)
    assert assert_problem(r, 409, "email_taken")["field"] == "email"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "ann@example.com", "password": PASSWORD, "role": "operator"}, "role"),
        ({"email": "ann@example.com", "password": PASSWORD, "role": "admin"}, "role"),
        ({"email": "nope", "password": PASSWORD}, "email"),
        ({"email": "ann@example.com", "password": "short"}, "password"),
        ({"email": "ann@example.com"}, "password"),
    ],
)
def test_api_bad_user_input(
    client: TestClient, platform: PlatformHandle, body: dict[str, Any], field: str
) -> None:
    url = f"/v1/admin/platforms/{platform.id}/users"
    r = client.post(url, json=body, headers=OP)
    assert assert_problem(r, 422, "validation_error")["errors"][0]["field"] == field
    assert client.get(url, headers=OP).json() == []


def test_api_users_need_the_operator_and_a_platform(
    client: TestClient, platform: PlatformHandle
) -> None:
    body = {"email": "ann@example.com", "password": PASSWORD}
    url = f"/v1/admin/platforms/{platform.id}/users"
    assert_problem(client.post(url, json=body, headers=platform.headers), 401, "unauthorized")
    assert_problem(client.get(url, headers=platform.headers), 401, "unauthorized")
    r = client.post("/v1/admin/platforms/pf_nope/users", json=body, headers=OP)
    assert_problem(r, 404, "platform_not_found")
    assert_problem(
        client.get("/v1/admin/platforms/pf_nope/users", headers=OP), 404, "platform_not_found"
    )


def test_api_lists_platforms_by_name(client: TestClient, make_platform: Any) -> None:
    tea = make_platform(name="Tea", zones=(1,))
    coffee = make_platform(name="Coffee", zones=())
    r = client.get("/v1/admin/platforms", headers=OP)
    assert r.status_code == 200
    listed = r.json()
    assert [p["id"] for p in listed] == [coffee.id, tea.id]
    assert [z["valid"] for z in listed[1]["zones"]] == [True, False, False]  # zone 3 unbought
    assert listed[1] == client.get(f"/v1/admin/platforms/{tea.id}", headers=OP).json()
    assert_problem(client.get("/v1/admin/platforms", headers=tea.headers), 401, "unauthorized")


def test_throttled_problem_carries_retry_after() -> None:
    from fastapi import FastAPI

    from hookline.api import errors

    app = FastAPI()
    errors.install(app)

    @app.get("/boom")
    def boom() -> None:
        raise LoginThrottled(7)

    r = TestClient(app).get("/boom")
    body = assert_problem(r, 429, "login_throttled")
    assert body["retry_after"] == 7 and r.headers["retry-after"] == "7"


async def test_the_worker_purges_expired_sessions_and_old_failure_counts(
    ctx: Context, platform_id: str, clock: FakeClock
) -> None:
    users.create_user(
        ctx,
        email="kim@coffee.example",
        password=PASSWORD,
        role=Role.MEMBER,
        platform_id=platform_id,
    )
    users.login(ctx, "kim@coffee.example", PASSWORD)
    with pytest.raises(InvalidLogin):
        users.login(ctx, "nobody@coffee.example", "wrong password")
    clock.advance(hours=13)  # the session expired; the failure is 13 hours old
    kept = users.login(ctx, "kim@coffee.example", PASSWORD)
    worker = make_worker(ctx)
    try:
        await worker._maintain()  # reclaims, then purges
        with ctx.db.read() as conn:
            assert conn.execute(select(sessions.c.token_hash)).scalars().all() == [
                hash_token(kept.token)
            ]
            assert conn.execute(select(login_failures.c.email)).scalars().all() == [
                "nobody@coffee.example"
            ]
        clock.advance(hours=12)  # now the failure is a day old
        await worker._maintain()  # reclaims, then purges
        with ctx.db.read() as conn:
            assert conn.execute(select(login_failures.c.email)).scalars().all() == []
    finally:
        await worker.sender.close()
